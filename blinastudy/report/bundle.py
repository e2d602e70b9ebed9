"""Every export of one analysis, built in memory: the same files for the app's
downloads and for the command line's output folder.

:func:`build_bundle` returns ``results.json``, ``settings.json``, ``stamp.json``,
``reproduce.py``, every figure as SVG and PNG, every table as CSV (spreadsheet
formulas neutralised), ``report.html``, ``report.pdf`` when a PDF engine is
allowed and available, and ``slides.pptx``. Nothing is written anywhere: the
command line writes the files, the app offers them as downloads.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from blinastudy.report import charts
from blinastudy.report.codegen import show_code
from blinastudy.report.export import to_csv_bytes
from blinastudy.report.html import (
    CHROMIUM,
    html_report,
    pdf_report,
    result_charts,
    result_tables,
)
from blinastudy.report.slides import SLIDE_FIGURES, pptx_deck
from blinastudy.report.stamp import stamp

if TYPE_CHECKING:
    from blinastudy.analysis import AnalysisResult

__all__ = ["Bundle", "build_bundle", "bundle_steps"]


@dataclass
class Bundle:
    """The exports of one analysis.

    Attributes
    ----------
    files : dict of str to bytes
        Relative path (``figures/km_efs.svg``, ``report.html``, ...) to content,
        in the order they were made.
    stamp : dict
        The stamp (:func:`blinastudy.report.stamp.stamp`) every file carries.
    notes : list of str
        What was left out and why (e.g. the PDF without an engine).
    """

    files: dict[str, bytes] = field(default_factory=dict)
    stamp: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def zip_bytes(self) -> bytes:
        """All files in one ZIP archive (made in memory).

        Examples
        --------
        >>> b = Bundle(files={"a.txt": b"x"})
        >>> zipfile.ZipFile(io.BytesIO(b.zip_bytes())).namelist()
        ['a.txt']
        """
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in self.files.items():
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        return buffer.getvalue()


def bundle_steps(result: AnalysisResult) -> int:
    """How many progress steps :func:`build_bundle` reports for ``result``.

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> bundle_steps(analyze(make_demo_cohort(), sweep=False, replicates=0))
    20
    """
    return 2 * len(result_charts(result)) + 4


def build_bundle(
    result: AnalysisResult,
    *,
    when: datetime | None = None,
    demo: bool | None = None,
    cohort_path: str | None = None,
    pool_path: str | None = None,
    mapping_paths: Sequence[str | None] = (),
    pdf: bool = True,
    chromium: str | None = CHROMIUM,
    progress: Callable[[str], None] | None = None,
) -> Bundle:
    """Make every export of ``result`` in memory.

    Parameters
    ----------
    result : AnalysisResult
    when : datetime, optional
        Date of the stamp (default now, UTC).
    demo : bool, optional
        Whether the cohort is the synthetic demo (default: from its content hash).
    cohort_path, pool_path, mapping_paths : str, optional
        File names written into ``reproduce.py`` (``None``: the demo cohort).
    pdf : bool, default True
        Whether to print ``report.pdf`` (WeasyPrint in memory, else Chromium on a
        temporary copy; see :func:`blinastudy.report.html.pdf_report`).
    chromium : str or None
        Chromium for the PDF (``None``: WeasyPrint only).
    progress : callable, optional
        Called with the name of each step as it is done (:func:`bundle_steps`
        steps).

    Returns
    -------
    Bundle

    Examples
    --------
    >>> from blinastudy.analysis import analyze
    >>> from blinastudy.data.demo import make_demo_cohort
    >>> b = build_bundle(analyze(make_demo_cohort(), sweep=False, replicates=0), pdf=False)
    >>> [n for n in b.files if "/" not in n]
    ['results.json', 'settings.json', 'stamp.json', 'reproduce.py', 'report.html', 'slides.pptx']
    >>> b.notes
    ['report.pdf not made (not asked for)']
    """

    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    bundle = Bundle()
    st = stamp(result, when=when, demo=demo)
    bundle.stamp = st
    files = bundle.files

    def text(data: str) -> bytes:
        return data.encode("utf-8")

    numbers = result.numbers()
    numbers["stamp"] = st
    files["results.json"] = text(json.dumps(numbers, indent=2, allow_nan=False) + "\n")
    files["settings.json"] = text(result.settings.to_json() + "\n")
    files["stamp.json"] = text(json.dumps(st, indent=2) + "\n")
    files["reproduce.py"] = text(
        show_code(
            result.settings,
            cohort_path=cohort_path,
            pool_path=pool_path,
            mapping_paths=mapping_paths,
            cohort_hash=result.cohort_hash,
        )
    )
    svgs: dict[str, str] = {}
    pngs: dict[str, bytes] = {}
    for name, chart in result_charts(result).items():
        svgs[name] = charts.to_svg(chart)
        files[f"figures/{name}.svg"] = text(svgs[name])
        step(f"figure {name}.svg")
        pngs[name] = charts.to_png(chart)
        files[f"figures/{name}.png"] = pngs[name]
        step(f"figure {name}.png")
    for name, table in result_tables(result).items():
        files[f"tables/{name}.csv"] = to_csv_bytes(table)
    step("tables")
    page = html_report(result, when=when, demo=st["synthetic"], svgs=svgs)
    files["report.html"] = text(page)
    step("report.html")
    if pdf:
        data = pdf_report(page, chromium=chromium)
        if data is None:
            bundle.notes.append("report.pdf not made: no PDF engine (WeasyPrint or Chromium)")
        else:
            files["report.pdf"] = data
    else:
        bundle.notes.append("report.pdf not made (not asked for)")
    step("report.pdf")
    images = {k: v for k, v in pngs.items() if k in SLIDE_FIGURES}
    files["slides.pptx"] = pptx_deck(result, when=when, demo=st["synthetic"], images=images)
    step("slides.pptx")
    return bundle
