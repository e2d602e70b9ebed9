"""Patients the analysis cannot use are excluded and listed, never an error that stops it;
the propensity model's troubles are reported as R reports them, everywhere."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from blinastudy.analysis import analyze, missing_outcome, prepare_cohort, propensity_warnings
from blinastudy.analysis.settings import Settings
from blinastudy.analysis.stepcache import StepCache
from blinastudy.core.errors import InputError
from blinastudy.data.cohort import content_hash, load_cohort, load_file
from blinastudy.data.demo import make_demo_cohort
from blinastudy.report.html import html_report, result_tables
from blinastudy.report.methods import methods_text
from blinastudy.stats.matching import fit_propensity


@pytest.fixture(scope="module")
def cohort_with_gaps() -> pd.DataFrame:
    cohort = make_demo_cohort()
    cohort["os_event"] = cohort["os_event"].astype("Int64")
    cohort.loc[2, "efs_months"] = np.nan
    # two eligible (intermediate- or high-risk) controls
    a, b = cohort.index[(cohort["arm"] == "chemotherapy") & (cohort["risk_group"] != "LR")][:2]
    cohort.loc[a, "os_event"] = pd.NA
    cohort.loc[b, "os_months"] = np.nan
    cohort.loc[b, "os_event"] = pd.NA
    cohort.attrs["gaps"] = (a, b)
    return cohort


def test_missing_outcome_is_excluded_and_listed(cohort_with_gaps: pd.DataFrame) -> None:
    settings = Settings()
    res = analyze(cohort_with_gaps, settings, sweep=False)
    ids = cohort_with_gaps["patient_id"]
    a, b = cohort_with_gaps.attrs["gaps"]
    table = res.excluded_outcome
    assert table["patient_id"].tolist() == [ids[2], ids[a], ids[b]]
    assert table["reason"].tolist() == [
        "missing efs_months",
        "missing os_event",
        "missing os_months, os_event",
    ]
    assert table["arm"].tolist() == ["blinatumomab", "chemotherapy", "chemotherapy"]
    # nobody excluded appears in any analysis
    assert res.match is not None
    used = set(res.match.pairs["treated"]) | set(res.match.pairs["control"])
    assert used.isdisjoint(table["patient_id"])
    efs = res.endpoints["efs"]
    assert efs.n["blinatumomab"] == 89
    # the counts appear in every output
    numbers = res.numbers()
    assert numbers["excluded"]["missing_outcome"] == 3
    assert any("missing outcome" in w for w in numbers["warnings"])
    assert len(result_tables(res)["excluded_outcome"]) == 3
    assert "3 patient(s) without a complete outcome" in methods_text(settings, res)
    assert "Patients excluded from every analysis (missing outcome)" in html_report(res)


def test_bad_outcome_values_still_name_the_patient() -> None:
    cohort = make_demo_cohort()
    cohort.loc[4, "os_months"] = -3.0
    with pytest.raises(InputError, match=r"patient 'BLN-005' \(-3\)"):
        prepare_cohort(cohort, Settings())
    cohort = make_demo_cohort()
    cohort.loc[7, "efs_event"] = 2
    with pytest.raises(InputError, match=r"column 'efs_event' must be 0/1; at patient 'BLN-008'"):
        prepare_cohort(cohort, Settings())


def _file_with_gaps() -> tuple[pd.DataFrame, bytes]:
    """The demo cohort without the fourth patient's EFS, as a CSV file with a blank line
    after its second patient: the fourth patient is on row 6 (the header is row 1)."""
    cohort = make_demo_cohort()
    cohort.loc[3, "efs_months"] = np.nan
    lines = cohort.to_csv(index=False).splitlines()
    return cohort, "\n".join([*lines[:3], "", *lines[3:]]).encode() + b"\n"


def test_file_rows_are_listed_for_a_loaded_file() -> None:
    cohort, data = _file_with_gaps()
    table = load_file(data)
    excluded = missing_outcome(prepare_cohort(table.frame, Settings(), file_rows=table.rows))
    assert excluded[["patient_id", "file_row", "reason"]].values.tolist() == [
        [cohort.loc[3, "patient_id"], 6, "missing efs_months"]
    ]
    assert type(excluded["file_row"].iloc[0]) is int
    # without the file's rows no row is shown, rather than one counted from the frame
    plain = missing_outcome(prepare_cohort(load_cohort(data), Settings()))
    assert "file_row" not in plain.columns
    with pytest.raises(InputError, match="file_rows has 3 entries"):
        prepare_cohort(table.frame, Settings(), file_rows=[2, 3, 4])


def test_file_rows_follow_the_patients_through_a_sort_and_a_filter() -> None:
    cohort, data = _file_with_gaps()
    table = load_file(data)
    order = np.argsort(table.frame["efs_months"].to_numpy(), kind="stable")[::-1]
    kept = table.take(order).take(np.arange(len(order)) % 7 != 1)
    excluded = missing_outcome(prepare_cohort(kept.frame, Settings(), file_rows=kept.rows))
    assert excluded[["patient_id", "file_row"]].values.tolist() == [
        [cohort.loc[3, "patient_id"], 6]
    ]


def test_a_reordered_frame_never_shows_misaligned_file_rows() -> None:
    # pandas operations on a loaded frame lose track of the file's rows: no row is
    # listed then (metadata carried along by the frame would name a wrong row)
    _, data = _file_with_gaps()
    loaded = load_cohort(data)
    reordered = loaded.iloc[::-1].reset_index(drop=True)
    assert "file_row" not in missing_outcome(prepare_cohort(reordered, Settings())).columns


def test_analyze_lists_file_rows_and_keeps_them_apart_in_the_step_cache() -> None:
    cohort, data = _file_with_gaps()
    table = load_file(data)
    steps = StepCache()

    def run(**kwargs: Any) -> pd.DataFrame:
        res = analyze(table.frame, Settings(), sweep=False, replicates=0, cache=steps, **kwargs)
        assert res.cohort_hash == content_hash(table.frame)
        return res.excluded_outcome

    first = run(file_rows=table.rows)
    assert first[["patient_id", "file_row"]].values.tolist() == [[cohort.loc[3, "patient_id"], 6]]
    # the same content from another file (two more lines above the header): its own rows
    assert run(file_rows=table.rows + 2)["file_row"].tolist() == [8]
    assert "file_row" not in run().columns
    assert steps.runs["propensity"] == 3 and run(file_rows=table.rows).equals(first)
    assert steps.runs["propensity"] == 3


def test_all_outcomes_missing_in_one_arm_is_a_clear_error() -> None:
    cohort = make_demo_cohort()
    cohort.loc[cohort["arm"] == "blinatumomab", "efs_months"] = np.nan
    with pytest.raises(InputError):
        analyze(cohort, Settings(), sweep=False)


def separated_cohort() -> pd.DataFrame:
    """Every high-risk patient is treated: the propensity model separates the arms."""
    cohort = make_demo_cohort()
    cohort.loc[cohort["arm"] == "chemotherapy", "risk_group"] = cohort.loc[
        cohort["arm"] == "chemotherapy", "risk_group"
    ].replace("HR", "IR")
    return cohort


def test_separation_is_reported_as_r_warns_it_everywhere() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no numpy RuntimeWarning on the way
        res = analyze(separated_cohort(), Settings(), sweep=False)
    text = [w for w in res.warnings if "fitted probabilities numerically 0 or 1" in w]
    assert len(text) == 1
    assert res.matching_summary["separation"] is True
    assert res.numbers()["matching"]["separation"] is True
    assert text[0] in res.numbers()["warnings"]
    assert "fitted probabilities numerically 0 or 1" in html_report(res)


def test_non_convergence_is_reported() -> None:
    # complete separation: R's glm(t ~ x, binomial) stops at 25 iterations with
    # converged = FALSE and both warnings
    frame = pd.DataFrame({"t": [0] * 5 + [1] * 5, "x": np.arange(1.0, 11.0)})
    with np.errstate(all="raise"):
        model = fit_propensity(frame, "t", ["x"])
    assert (model.iterations, model.converged, model.separation) == (25, False, True)
    texts = propensity_warnings(model)
    assert len(texts) == 2
    assert "did not converge in 25 iterations" in texts[0]
    # a converging model with separation: only that warning (R: 20 iterations, converged)
    frame = pd.DataFrame(
        {"t": [1, 1, 1, 1, 0, 0, 0, 0, 1, 0], "x": [3.0, 4, 5, 6, 0, 1, 2, 3, 3, 3]}
    )
    model = fit_propensity(frame, "t", ["x"])
    assert (model.iterations, model.converged) == (20, True)
    assert [t[:27] for t in propensity_warnings(model)] == ["Some propensity scores are "]


def test_numbers_json_is_plain(cohort_with_gaps: pd.DataFrame) -> None:
    res = analyze(cohort_with_gaps, Settings(), sweep=False)
    text = json.dumps(res.numbers())
    assert "NaN" not in text
