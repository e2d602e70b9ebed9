"""The stamp on every export: settings, cohort content hash, package version, date.

A stamp says exactly which analysis an exported file shows: the full
:class:`~blinastudy.analysis.settings.Settings`, the SHA-256 of the cohort's content
(:func:`blinastudy.analysis.cohort_hash`), the BlinaStudy version and the date
of the export in UTC. With the same cohort file, the same settings and the same
version, :func:`blinastudy.analysis.analyze` gives the same numbers again.

:func:`stamp` is pure when ``when`` is given; without it, it reads the clock.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from blinastudy.analysis.settings import Settings
from blinastudy.core.errors import InputError

if TYPE_CHECKING:
    from blinastudy.analysis import AnalysisResult

__all__ = ["demo_cohort_hash", "is_demo", "settings_from_saved", "stamp", "stamp_line"]


@functools.lru_cache(maxsize=1)
def demo_cohort_hash() -> str:
    """Content hash of the bundled synthetic demo cohort (default seed).

    Examples
    --------
    >>> len(demo_cohort_hash())
    64
    """
    from blinastudy.data.cohort import content_hash
    from blinastudy.data.demo import make_demo_cohort

    return content_hash(make_demo_cohort())


def is_demo(result: AnalysisResult) -> bool:
    """Whether ``result`` was computed on the bundled synthetic demo cohort.

    Decided by the cohort content hash, so the shipped ``data/demo_cohort.csv``
    read with :func:`blinastudy.data.cohort.load_cohort` counts as the demo too.

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> is_demo(analyze(make_demo_cohort(), sweep=False))
    True
    """
    return result.cohort_hash == demo_cohort_hash()


def _utc(when: datetime | None) -> datetime:
    if when is None:
        return datetime.now(UTC)
    if not isinstance(when, datetime):
        raise InputError(f"when must be a datetime, got {type(when).__name__}")
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def stamp(
    result: AnalysisResult, *, when: datetime | None = None, demo: bool | None = None
) -> dict[str, Any]:
    """What identifies an exported analysis, as a JSON-ready dictionary.

    Parameters
    ----------
    result : AnalysisResult
        The analysis being exported.
    when : datetime, optional
        Date and time of the export (a naive value is taken as UTC). Default:
        now, in UTC.
    demo : bool, optional
        Whether the cohort is the synthetic demo; detected from the cohort hash
        when omitted (:func:`is_demo`).

    Returns
    -------
    dict
        ``software``, ``version``, ``cohort_hash``, ``settings`` (as
        :meth:`Settings.to_dict`), ``date`` (ISO 8601, UTC), ``synthetic``
        (bool) and ``label`` (the synthetic-data label, or ``None``).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> res = analyze(make_demo_cohort(), sweep=False)
    >>> s = stamp(res, when=datetime(2025, 1, 31, 9, 30, tzinfo=UTC))
    >>> s["date"], s["version"] == res.version, s["synthetic"]
    ('2025-01-31T09:30:00+00:00', True, True)
    """
    from blinastudy.data.demo import DEMO_LABEL

    synthetic = is_demo(result) if demo is None else bool(demo)
    return {
        "software": "BlinaStudy",
        "version": str(result.version),
        "cohort_hash": str(result.cohort_hash),
        "settings": result.settings.to_dict(),
        "date": _utc(when).isoformat(timespec="seconds"),
        "synthetic": synthetic,
        "label": DEMO_LABEL if synthetic else None,
    }


def stamp_line(st: dict[str, Any], *, short_hash: bool = False) -> str:
    """The stamp as one line of text for a footer or a slide.

    Examples
    --------
    >>> stamp_line({"version": "0.1.0", "cohort_hash": "ab" * 32,
    ...             "date": "2025-01-31T09:30:00+00:00", "synthetic": False}, short_hash=True)
    'BlinaStudy 0.1.0 · cohort SHA-256 abababababab… · 2025-01-31 09:30 UTC'
    """
    digest = str(st["cohort_hash"])
    if short_hash:
        digest = digest[:12] + "…"
    date = str(st["date"])
    shown = date[:16].replace("T", " ") + " UTC" if "T" in date else date
    line = f"BlinaStudy {st['version']} · cohort SHA-256 {digest} · {shown}"
    if st.get("synthetic"):
        line = f"{st.get('label') or 'Synthetic demo data'} · {line}"
    return line


def settings_from_saved(text: str | bytes) -> Settings:
    """Settings from any saved file: settings JSON, a stamp, or a ``results.json``.

    A saved analysis can be reloaded from whichever file is at hand: the
    ``settings.json`` of :meth:`Settings.to_json`, the ``stamp.json`` of an
    export (its ``settings``), or the ``results.json`` of the command line (its
    ``stamp``'s settings).

    Raises
    ------
    InputError
        Text that is not JSON, or settings that do not validate.

    Examples
    --------
    >>> s = Settings(endpoint="os")
    >>> settings_from_saved(s.to_json()) == s
    True
    >>> settings_from_saved(json.dumps({"stamp": {"settings": s.to_dict()}})) == s
    True
    """
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"the saved settings are not valid JSON ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("stamp"), dict):
        data = data["stamp"].get("settings")  # results.json
    elif isinstance(data, dict) and "cohort_hash" in data and "settings" in data:
        data = data["settings"]  # stamp.json
    return Settings.from_dict(data)
