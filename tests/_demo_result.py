"""Demo cohorts and one demo analysis shared by the tests (each computed once)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import pandas as pd

from blinastudy.analysis import AnalysisResult, analyze
from blinastudy.analysis.settings import Settings
from blinastudy.data.demo import make_demo_cohort

#: The fixed export date used by tests, so outputs are reproducible.
WHEN = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


@functools.lru_cache(maxsize=1)
def demo_cohort() -> pd.DataFrame:
    return make_demo_cohort()


@functools.lru_cache(maxsize=4)
def demo_result(sweep: bool = True) -> AnalysisResult:
    return analyze(demo_cohort(), Settings(), sweep=sweep)


@functools.lru_cache(maxsize=1)
def demo_svgs() -> dict[str, str]:
    from blinastudy.report.html import render_svgs, result_charts

    return render_svgs(result_charts(demo_result()))


@functools.lru_cache(maxsize=1)
def demo_pngs() -> dict[str, bytes]:
    from blinastudy.report.slides import render_pngs

    return render_pngs(demo_result())


def demo_subset(n_treated: int, n_control: int, marker: str | None = None) -> pd.DataFrame:
    """The first ``n_treated`` blinatumomab and ``n_control`` chemotherapy demo patients.

    With ``marker``, patient ids become ``<marker>-0000``, ``<marker>-0001``, ...
    """
    demo = demo_cohort()
    part = pd.concat(
        [
            demo[demo["arm"] == "blinatumomab"].head(n_treated),
            demo[demo["arm"] == "chemotherapy"].head(n_control),
        ],
        ignore_index=True,
    )
    if marker is not None:
        part["patient_id"] = [f"{marker}-{k:04d}" for k in range(len(part))]
    return part
