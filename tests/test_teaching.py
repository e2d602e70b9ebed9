"""Teaching texts: every topic explained, with the current numbers woven in, never hidden."""

from __future__ import annotations

import pytest

from blinastudy.analysis.settings import Settings
from blinastudy.core.errors import InputError
from blinastudy.core.formatting import fmt_hr, fmt_num, fmt_p
from blinastudy.report.teaching import KEYS, TEXTS, TITLES, explain
from tests._cells import num, one_row
from tests._demo_result import demo_result

REQUIRED = {"caliper", "smd", "immortal_time", "mrd_threshold", "forest", "firth", "kmunicate"}


def test_required_topics_exist_with_titles() -> None:
    assert set(KEYS) >= REQUIRED
    assert set(TITLES) == set(TEXTS)
    for key in KEYS:
        assert 200 < len(TEXTS[key]) < 1200  # short, resident-level


@pytest.mark.parametrize("key", KEYS)
def test_plain_text_without_an_analysis(key: str) -> None:
    assert explain(key) == TEXTS[key]


@pytest.mark.parametrize("key", KEYS)
def test_numbers_follow_the_fixed_text(key: str) -> None:
    text = explain(key, result=demo_result())
    assert text.startswith(TEXTS[key])
    assert "\n\nIn this analysis: " in text


def test_unknown_topic() -> None:
    with pytest.raises(InputError, match="unknown teaching topic 'nope'"):
        explain("nope")


def test_caliper_weaves_width_and_sweep() -> None:
    res = demo_result()
    text = explain("caliper", result=res)
    assert "0.2 SD, an absolute width of 0.14 on the logit scale" in text
    assert "matched 90 of 90 treated children" in text
    first = res.sweep.sort_values("caliper").iloc[0]
    assert f"{first['caliper']:g} SD matches {int(first['n_matched_treated'])}" in text
    # settings alone still say what the caliper is
    assert "The caliper is 0.05 SD." in explain(
        "caliper", Settings().update(matching__caliper=0.05)
    )
    assert "No caliper is set" in explain("caliper", Settings().update(matching__caliper=None))


def test_smd_lists_covariates_still_imbalanced() -> None:
    res = demo_result()
    text = explain("smd", result=res)
    assert "not with p-values" in text
    s = res.matching_summary
    assert (
        f"{fmt_num(s['max_abs_smd_before'])} before and {fmt_num(s['max_abs_smd_after'])}" in text
    )
    assert "genetic subtype BCR-ABL1 (0.18)" in text


def test_immortal_time_uses_the_diagnosis_and_landmark_hazard_ratios() -> None:
    res = demo_result()
    text = explain("immortal_time", result=res)
    assert "median of 10.8 months after diagnosis" in text
    it = res.immortal_time.set_index(["endpoint", "analysis"])
    for analysis in ("diagnosis", "landmark", "time-dependent"):
        row = one_row(it, ("efs", analysis))
        assert fmt_hr(row["hr"], row["ci_lower"], row["ci_upper"]) in text
    assert f"{int(num(it.loc[('efs', 'landmark'), 'excluded']))} patients excluded" in text
    td = one_row(it, ("efs", "time-dependent"))
    assert f"{int(td['events_exposed'])} events in {td['months_exposed']:.0f} exposed" in text
    assert res.immortal_advice["efs"] in text


def test_mrd_threshold_counts_patients_changing_group() -> None:
    res = demo_result()
    assert res.mrd is not None
    text = explain("mrd_threshold", result=res)
    assert "23%" in text
    assert f"moves {len(res.mrd.changed)} patients" in text
    assert "The threshold is 0.1% (end of induction), the reference 0.01%." in text


def test_forest_gives_overall_and_smallest_interaction() -> None:
    res = demo_result()
    text = explain("forest", result=res)
    ints = res.forest.dropna(subset=["p_interaction"]).sort_values("p_interaction")
    assert f"p = {fmt_p(ints.iloc[0]['p_interaction'])}" in text
    assert "6 subgroup variables" in text and "about 26%" in text


def test_firth_names_the_endpoint_without_events() -> None:
    text = explain("firth", result=demo_result())
    assert "OS (0 events with blinatumomab" in text
    assert "0.00032" in text  # a tiny lower limit stays visible


def test_kmunicate_gives_numbers_at_risk() -> None:
    res = demo_result()
    text = explain("kmunicate", result=res)
    for _, row in res.endpoint.at_horizon.iterrows():
        assert f"{int(row['n_at_risk'])} still at risk" in text
