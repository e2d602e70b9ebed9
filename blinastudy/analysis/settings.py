"""The settings of an analysis: the whole state the app, reports and CLI share.

A :class:`Settings` value plus a cohort determine every number BlinaStudy
shows. It is immutable, validated on construction, and round-trips through
JSON (:meth:`Settings.to_json` / :meth:`Settings.from_json`) so that a saved
analysis reloads to the identical state.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from blinastudy.core.errors import InputError
from blinastudy.core.validate import describe_value
from blinastudy.data.eligibility import Eligibility
from blinastudy.data.schema import DEFAULT_COVARIATES

__all__ = [
    "DEFAULT_COVARIATES",
    "DEFAULT_SUBGROUPS",
    "SETTINGS_VERSION",
    "STUDY_ELIGIBILITY",
    "BootstrapSettings",
    "DisplaySettings",
    "MatchingSettings",
    "MrdSettings",
    "Settings",
    "WeightingSettings",
]

SETTINGS_VERSION = 1

#: The study's population: intermediate- and high-risk patients (the historical pool
#: restricted to them; the treated arm was chemotherapy-intolerant IR/HR children).
STUDY_ELIGIBILITY = Eligibility(risk_groups=("IR", "HR"))


#: Subgroup variables of the forest plot by default; the ``*_group``/``*_band``
#: names are derived from the cohort by :mod:`blinastudy.analysis`.
DEFAULT_SUBGROUPS: tuple[str, ...] = (
    "risk_group",
    "mrd_group",
    "age_band",
    "wbc_band",
    "genetic_subtype",
    "sex",
)

Endpoint = Literal["efs", "os", "cir", "trm"]
Population = Literal["matched", "weighted", "all"]
Origin = Literal["diagnosis", "landmark"]
MrdTimepoint = Literal["eoi", "day15"]
LogrankChoice = Literal["auto", "stratified", "plain"]


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise InputError(message)


def _number(value: Any) -> bool:
    """A real, finite number (``true``/``false`` are not numbers here)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _names(value: Any, name: str) -> tuple[str, ...]:
    """A list of column names, each a non-empty string."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise InputError(f"{name} must be a list of column names, got {describe_value(value)}")
    bad = [v for v in value if not isinstance(v, str) or not v]
    _check(
        not bad,
        f"{name} must hold column names (text), got {describe_value(bad[0]) if bad else ''}",
    )
    return tuple(value)


def _flag(value: Any, name: str) -> None:
    _check(isinstance(value, bool), f"{name} must be true or false, got {describe_value(value)}")


#: Largest settings file read (bytes) and deepest nesting accepted.
MAX_SETTINGS_BYTES = 2_000_000
MAX_SETTINGS_DEPTH = 16


def _json_depth(text: str) -> int:
    """Deepest nesting of objects and lists in JSON text (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


@dataclass(frozen=True)
class MatchingSettings:
    """Propensity model and matching options (see :func:`blinastudy.stats.matching.match`)."""

    covariates: tuple[str, ...] = DEFAULT_COVARIATES
    caliper: float | None = 0.2
    scale: Literal["logit", "ps"] = "logit"
    ratio: int = 1
    replace: bool = False
    order: Literal["largest", "smallest", "random", "data"] = "largest"
    exact: tuple[str, ...] = ()
    random_state: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariates", _names(self.covariates, "matching.covariates"))
        object.__setattr__(self, "exact", _names(self.exact, "matching.exact"))
        _check(len(self.covariates) > 0, "matching.covariates: choose at least one covariate")
        _check(
            self.caliper is None or (_number(self.caliper) and 0 < float(self.caliper) <= 10),
            f"matching.caliper must be a number of SDs in (0, 10] or null, got {describe_value(self.caliper)}",
        )
        _check(
            self.scale in ("logit", "ps"),
            f"matching.scale must be logit or ps, got {describe_value(self.scale)}",
        )
        _check(
            isinstance(self.ratio, int)
            and not isinstance(self.ratio, bool)
            and 1 <= self.ratio <= 10,
            f"matching.ratio must be a whole number from 1 to 10, got {describe_value(self.ratio)}",
        )
        _flag(self.replace, "matching.replace")
        _check(
            self.random_state is None
            or (
                isinstance(self.random_state, int)
                and not isinstance(self.random_state, bool)
                and 0 <= self.random_state < 2**32
            ),
            "matching.random_state must be a whole number from 0 to 2^32 - 1 or null, got "
            f"{describe_value(self.random_state)}",
        )
        _check(
            self.order in ("largest", "smallest", "random", "data"),
            f"matching.order must be largest, smallest, random or data, got {describe_value(self.order)}",
        )


@dataclass(frozen=True)
class MrdSettings:
    """Minimal residual disease grouping: time point and threshold (percent).

    ``side`` says where a value equal to the threshold goes: ``"at_or_above"``
    (groups < and ≥ the threshold) or ``"above"`` (≤ and >, "MRD > 0.1 %").
    """

    timepoint: MrdTimepoint = "eoi"
    threshold_pct: float = 0.1
    compare_threshold_pct: float = 0.01
    side: Literal["at_or_above", "above"] = "at_or_above"

    def __post_init__(self) -> None:
        _check(
            self.timepoint in ("eoi", "day15"),
            f"mrd.timepoint must be eoi or day15, got {describe_value(self.timepoint)}",
        )
        _check(
            self.side in ("at_or_above", "above"),
            f"mrd.side must be at_or_above or above, got {describe_value(self.side)}",
        )
        for name in ("threshold_pct", "compare_threshold_pct"):
            v = getattr(self, name)
            _check(
                _number(v) and 0.0001 <= float(v) <= 100,
                f"mrd.{name} must be a percentage between 0.0001 and 100, got {describe_value(v)}",
            )

    @property
    def column(self) -> str:
        """The cohort column holding MRD at the chosen time point."""
        return "mrd_eoi_pct" if self.timepoint == "eoi" else "mrd_day15_pct"


@dataclass(frozen=True)
class BootstrapSettings:
    """Pair bootstrap of matched-sample intervals (see :mod:`blinastudy.stats.bootstrap`).

    ``replicates`` is used by exports and the command line, ``live_replicates``
    while the app recomputes on every change; the same ``random_state`` gives the
    same interval.
    """

    replicates: int = 1000
    live_replicates: int = 500
    random_state: int = 20241207

    def __post_init__(self) -> None:
        for name, low, high in (
            ("replicates", 10, 100_000),
            ("live_replicates", 10, 100_000),
            ("random_state", 0, 2**32 - 1),
        ):
            v = getattr(self, name)
            _check(
                isinstance(v, int) and not isinstance(v, bool) and low <= v <= high,
                f"bootstrap.{name} must be a whole number from {low} to {high}, got {describe_value(v)}",
            )


@dataclass(frozen=True)
class WeightingSettings:
    """Propensity-score weighting (see :func:`blinastudy.stats.weighting.propensity_weights`).

    ``estimand``: ``"ATT"`` (the treated patients' population), ``"ATE"`` (everyone)
    or ``"ATO"`` (overlap weights); ``stabilize`` (ATE only) multiplies by the
    marginal probability of the arm received; ``trim`` caps the weights at that
    quantile (e.g. 0.99), as WeightIt's ``trim()``.
    """

    estimand: Literal["ATT", "ATE", "ATO"] = "ATT"
    stabilize: bool = False
    trim: float | None = None

    def __post_init__(self) -> None:
        _check(
            self.estimand in ("ATT", "ATE", "ATO"),
            f"weighting.estimand must be ATT, ATE or ATO, got {describe_value(self.estimand)}",
        )
        _flag(self.stabilize, "weighting.stabilize")
        _check(
            not self.stabilize or self.estimand == "ATE",
            "weighting.stabilize applies to the ATE only",
        )
        _check(
            self.trim is None or (_number(self.trim) and 0.5 < float(self.trim) < 1),
            f"weighting.trim must be a quantile in (0.5, 1) or null, got {describe_value(self.trim)}",
        )


@dataclass(frozen=True)
class DisplaySettings:
    """How results are shown (no effect on any number)."""

    presentation: bool = False
    teaching: bool = False

    def __post_init__(self) -> None:
        _flag(self.presentation, "display.presentation")
        _flag(self.teaching, "display.teaching")


@dataclass(frozen=True)
class Settings:
    """Everything that defines an analysis, validated and JSON round-trippable.

    ``endpoint`` is the one shown: ``"efs"``, ``"os"``, or the competing-risks
    endpoints ``"cir"`` (cumulative incidence of relapse; with
    ``relapse_includes_induction_failure`` induction failure counts as relapse, else
    it competes) and ``"trm"`` (death in remission). ``eligibility`` defines who may
    enter the comparison (by default the study's
    intermediate- and high-risk patients in the historical pool; ``Eligibility()``
    for everyone). ``logrank`` chooses the log-rank test shown on matched samples: ``"auto"``
    stratifies by matched set when matching was without replacement (the test
    that respects the pairing) and uses the plain test otherwise.

    Examples
    --------
    >>> s = Settings(endpoint="os", horizon_months=36.0)
    >>> Settings.from_json(s.to_json()) == s
    True
    """

    matching: MatchingSettings = field(default_factory=MatchingSettings)
    endpoint: Endpoint = "efs"
    population: Population = "matched"
    origin: Origin = "diagnosis"
    landmark_months: float = 12.0
    horizon_months: float = 24.0
    conf_level: float = 0.95
    conf_type: Literal["log-log", "log", "plain"] = "log-log"
    mrd: MrdSettings = field(default_factory=MrdSettings)
    subgroups: tuple[str, ...] = DEFAULT_SUBGROUPS
    subgroup_filter: tuple[str, str] | None = None
    sweep_calipers: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
    mappings: tuple[dict[str, Any], ...] = ()
    display: DisplaySettings = field(default_factory=DisplaySettings)
    logrank: LogrankChoice = "auto"
    bootstrap: BootstrapSettings = field(default_factory=BootstrapSettings)
    eligibility: Eligibility = field(default_factory=lambda: STUDY_ELIGIBILITY)
    relapse_includes_induction_failure: bool = False
    weighting: WeightingSettings = field(default_factory=WeightingSettings)
    adjust_covariates: tuple[str, ...] | None = None
    e_value_rare_outcome: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "subgroups", _names(self.subgroups, "subgroups"))
        if self.adjust_covariates is not None:
            object.__setattr__(
                self, "adjust_covariates", _names(self.adjust_covariates, "adjust_covariates")
            )
        calipers = self.sweep_calipers
        _check(
            not isinstance(calipers, str)
            and isinstance(calipers, (list, tuple))
            and all(_number(c) for c in calipers),
            f"sweep_calipers must be a list of numbers, got {describe_value(calipers)}",
        )
        object.__setattr__(self, "sweep_calipers", tuple(float(c) for c in calipers))
        _check(
            isinstance(self.mappings, (list, tuple))
            and all(isinstance(m, dict) for m in self.mappings),
            "mappings must be a list of mapping objects",
        )
        object.__setattr__(self, "mappings", tuple(dict(m) for m in self.mappings))
        if self.subgroup_filter is not None:
            flt = self.subgroup_filter
            _check(
                isinstance(flt, (list, tuple))
                and len(flt) == 2
                and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in flt),
                "subgroup_filter must be [variable, level]",
            )
            object.__setattr__(self, "subgroup_filter", tuple(str(v) for v in flt))
        _flag(self.relapse_includes_induction_failure, "relapse_includes_induction_failure")
        _flag(self.e_value_rare_outcome, "e_value_rare_outcome")
        _check(
            self.endpoint in ("efs", "os", "cir", "trm"),
            f"endpoint must be efs, os, cir or trm, got {describe_value(self.endpoint)}",
        )
        _check(
            self.population in ("matched", "weighted", "all"),
            f"population must be matched, weighted or all, got {describe_value(self.population)}",
        )
        _check(
            self.origin in ("diagnosis", "landmark"),
            f"origin must be diagnosis or landmark, got {describe_value(self.origin)}",
        )
        _check(
            _number(self.landmark_months) and 0 < self.landmark_months <= 120,
            f"landmark_months must be in (0, 120], got {describe_value(self.landmark_months)}",
        )
        _check(
            _number(self.horizon_months) and 0 < self.horizon_months <= 240,
            f"horizon_months must be in (0, 240], got {describe_value(self.horizon_months)}",
        )
        _check(
            isinstance(self.conf_level, float) and 0.5 <= self.conf_level < 1,
            f"conf_level must be in [0.5, 1), got {describe_value(self.conf_level)}",
        )
        _check(
            self.conf_type in ("log-log", "log", "plain"),
            f"conf_type must be log-log, log or plain, got {describe_value(self.conf_type)}",
        )
        _check(
            all(0 < c <= 10 for c in self.sweep_calipers) and len(self.sweep_calipers) <= 40,
            "sweep_calipers must be at most 40 values in (0, 10]",
        )
        _check(
            self.logrank in ("auto", "stratified", "plain"),
            f"logrank must be auto, stratified or plain, got {describe_value(self.logrank)}",
        )

    # -- JSON -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary (tuples as lists), with a format version.

        Examples
        --------
        >>> Settings().to_dict()["endpoint"]
        'efs'
        """
        data = asdict(self)
        data["version"] = SETTINGS_VERSION
        out: dict[str, Any] = json.loads(json.dumps(data))  # tuples -> lists
        return out

    def to_json(self) -> str:
        """Serialise to a JSON string (sorted keys, stable).

        Examples
        --------
        >>> '"caliper": 0.2' in Settings().to_json()
        True
        """
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any) -> Settings:
        """Rebuild settings from :meth:`to_dict` output; unknown keys are an error.

        Examples
        --------
        >>> Settings.from_dict({"endpoint": "os"}).endpoint
        'os'
        """
        if not isinstance(data, dict):
            raise InputError("settings must be a JSON object")
        data = dict(data)
        version = data.pop("version", SETTINGS_VERSION)
        if version != SETTINGS_VERSION:
            raise InputError(
                f"settings version {describe_value(version)} is not supported (expected {SETTINGS_VERSION})"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"settings has unknown key(s): {', '.join(unknown)}")
        nested = {
            "matching": MatchingSettings,
            "mrd": MrdSettings,
            "display": DisplaySettings,
            "bootstrap": BootstrapSettings,
            "eligibility": Eligibility,
            "weighting": WeightingSettings,
        }
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key in nested:
                sub = nested[key]
                if not isinstance(value, dict):
                    raise InputError(f"settings.{key} must be an object")
                sub_known = {f.name for f in fields(sub)}
                bad = sorted(set(value) - sub_known)
                if bad:
                    raise InputError(f"settings.{key} has unknown key(s): {', '.join(bad)}")
                try:
                    kwargs[key] = sub(**value)
                except TypeError as exc:
                    raise InputError(f"settings.{key}: {exc}") from None
            else:
                kwargs[key] = value
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise InputError(f"settings: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Settings:
        """Parse settings saved by :meth:`to_json`.

        Examples
        --------
        >>> Settings.from_json('{"population": "all"}').population
        'all'
        """
        if len(text) > MAX_SETTINGS_BYTES:
            raise InputError(
                f"settings file is {len(text):,} bytes; settings are at most "
                f"{MAX_SETTINGS_BYTES:,} bytes"
            )
        try:
            decoded = text.decode("utf-8") if isinstance(text, bytes) else text
        except UnicodeDecodeError:
            raise InputError("settings file is not UTF-8 text") from None
        if _json_depth(decoded) > MAX_SETTINGS_DEPTH:
            raise InputError(
                f"settings file is nested more than {MAX_SETTINGS_DEPTH} levels deep; "
                "it is not a BlinaStudy settings file"
            )
        try:
            data = json.loads(decoded)
        except json.JSONDecodeError as exc:
            raise InputError(f"settings file is not valid JSON: {exc}") from None
        except ValueError as exc:  # e.g. an integer with thousands of digits
            raise InputError(f"settings file holds a value that cannot be read: {exc}") from None
        return cls.from_dict(data)

    def update(self, **changes: Any) -> Settings:
        """A copy with some fields changed (nested ones as ``matching__caliper=0.1``).

        Examples
        --------
        >>> Settings().update(matching__caliper=0.1).matching.caliper
        0.1
        """
        top: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            if "__" in key:
                outer, inner = key.split("__", 1)
                nested.setdefault(outer, {})[inner] = value
            else:
                top[key] = value
        for outer, inner_changes in nested.items():
            top[outer] = replace(getattr(self, outer), **inner_changes)
        return replace(self, **top)
