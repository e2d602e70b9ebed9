"""The methods paragraph: every option changes the text, and correctly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from blinastudy.analysis.settings import Settings
from blinastudy.core.formatting import fmt_ci, fmt_hr, fmt_level, fmt_num, fmt_p, fmt_pct, hr_cell
from blinastudy.report.methods import methods_text
from tests._demo_result import demo_result

DEFAULT = methods_text(Settings())


def test_default_paragraph_names_the_design() -> None:
    for phrase in (
        "1:1 greedy nearest-neighbour matching without replacement on the logit of the "
        "propensity score",
        "logistic regression on age, sex, white cell count at diagnosis, CNS status, genetic "
        "subtype, CCLG-ALL-2018 risk group, prednisone response and end-of-induction MRD",
        "caliper 0.2 SD of the logit of the propensity score",
        "treated patients in descending propensity order",
        "standardised mean differences",
        "Kaplan-Meier with 95% pointwise confidence intervals on the log-log scale",
        "log-rank test",
        "Efron ties and cluster-robust standard errors (clusters: matched sets)",
        "the log-rank test stratified by matched set",
        "percentile bootstrap interval resampling matched sets (1000 replicates",
        "MatchIt ≥ 4.5.4 nearest-neighbour rule",
        "as MatchIt's summary() computes them for the ATT",
        "Firth's penalised likelihood with profile likelihood CIs",
        "Heinze & Schemper 2001",
        "time origin diagnosis",
        "landmark analysis at 12 months",
        "MRD threshold of 0.1%",
        "the Wald test with the variance robust to the matched sets",
        "The primary endpoint was event-free survival",
        "Survival at 24 months",
    ):
        assert phrase in DEFAULT, phrase
    assert "\n" not in DEFAULT


# (change, phrase that must appear, phrase of the default that must disappear)
VARIANTS = [
    ({"matching__ratio": 3}, "1:3 greedy nearest-neighbour", "1:1 "),
    ({"matching__replace": True}, "with replacement on the logit", "without replacement"),
    (
        {"matching__replace": True},
        "standard errors of Austin & Cafri (2020), clustered on matched set and on patient",
        "cluster-robust",
    ),
    (
        {"matching__exact": ("risk_group",)},
        "agree exactly on CCLG-ALL-2018 risk group (matching within strata)",
        None,
    ),
    ({"matching__scale": "ps"}, "caliper 0.2 SD of the propensity score", "logit"),
    ({"matching__caliper": None}, "without a caliper", "caliper 0.2 SD"),
    ({"matching__caliper": 0.05}, "caliper 0.05 SD", "caliper 0.2 SD"),
    ({"matching__order": "smallest"}, "ascending propensity order", "descending"),
    ({"matching__order": "data"}, "in the order of the data file", "descending"),
    (
        {"matching__order": "random", "matching__random_state": 7},
        "random order (seed 7)",
        "descending",
    ),
    ({"matching__covariates": ("age_years", "risk_group")}, "regression on age and CCLG", None),
    (
        {"origin": "landmark", "landmark_months": 6.0},
        "time origin landmark at 6 months",
        "time origin diagnosis",
    ),
    ({"landmark_months": 18.0}, "landmark analysis at 18 months", "at 12 months"),
    ({"conf_level": 0.9}, "Kaplan-Meier with 90% pointwise", "95%"),
    ({"conf_type": "plain"}, "on the plain (linear) scale", "log-log"),
    ({"conf_type": "log"}, "intervals on the log scale", "log-log"),
    ({"endpoint": "os"}, "The primary endpoint was overall survival", "was event-free survival"),
    ({"population": "all"}, "all patients without matching", "in the matched sample"),
    ({"population": "all"}, "Efron ties and model-based standard errors", "cluster-robust"),
    ({"horizon_months": 36.0}, "Survival at 36 months", "Survival at 24 months"),
    ({"mrd__threshold_pct": 0.01}, "MRD threshold of 0.01%", "MRD threshold of 0.1%"),
    ({"mrd__timepoint": "day15"}, "grouped by day-15 MRD", "grouped by end-of-induction MRD"),
    ({"subgroups": ()}, "No subgroup analyses", "interaction tests"),
    ({"subgroup_filter": ("risk_group", "HR")}, "with CCLG-ALL-2018 risk group = HR", None),
    ({"sweep_calipers": (0.1, 0.3)}, "2 caliper widths from 0.1 to 0.3 SD", "8 caliper"),
]


@pytest.mark.parametrize(("change", "present", "absent"), VARIANTS)
def test_every_option_changes_the_text(
    change: dict[str, object], present: str, absent: str | None
) -> None:
    text = methods_text(Settings().update(**change))
    assert text != DEFAULT
    assert present in text
    if absent is not None:
        assert absent not in text


def test_ratio_without_replacement_describes_rounds() -> None:
    text = methods_text(Settings().update(matching__ratio=2))
    assert "first control before any received a second" in text
    text = methods_text(Settings().update(matching__ratio=2, matching__replace=True))
    assert "each treated patient took its 2 nearest controls" in text


def test_result_adds_the_observed_numbers() -> None:
    res = demo_result()
    text = methods_text(res.settings, res)
    width = res.matching_summary["caliper_width"]
    assert f"(absolute width {width:.2f})" in text
    assert "(absolute width 0.14)" in text
    assert (
        "90 of 90 blinatumomab patients were matched to 90 controls from 528 eligible "
        "historical controls (of 1000; eligibility: risk group IR or HR)"
    ) in text
    assert "it was needed for OS" in text  # no deaths with blinatumomab
    assert f"BlinaStudy {res.version}" in text
    worst = res.balance[["smd_before", "smd_after"]].abs().max()
    assert f"largest |SMD| was {worst['smd_before']:.2f} before and " in text
    assert f"{worst['smd_after']:.2f} after matching" in text


@hyp_settings(max_examples=40, deadline=None)
@given(
    ratio=st.integers(1, 10),
    caliper=st.one_of(st.none(), st.sampled_from([0.01, 0.05, 0.1, 0.25, 0.5, 1.0])),
    conf=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
    replace=st.booleans(),
)
def test_text_tracks_random_settings(
    ratio: int, caliper: float | None, conf: float, replace: bool
) -> None:
    s = Settings(conf_level=conf).update(
        matching__ratio=ratio, matching__caliper=caliper, matching__replace=replace
    )
    text = methods_text(s)
    assert f"1:{ratio} " in text
    assert ("with replacement" in text) == replace
    assert f"{fmt_level(conf)} pointwise" in text
    if caliper is None:
        assert "without a caliper" in text
    else:
        assert f"caliper {caliper:g} SD" in text


def test_formatters() -> None:
    assert fmt_p(0.00001) == "< 0.001"
    assert fmt_p(0.0499) == "0.050"
    assert fmt_p(0.2484) == "0.248"  # the same in the app, the report and the slides
    assert fmt_num(0.00025) == "0.00025"  # small limits are never shown as 0.00
    assert fmt_ci(0.000925, 0.966) == "(0.00093 to 0.97)"
    assert fmt_hr(float("nan"), 1, 2) == "HR not estimable"
    assert fmt_hr(0.5, 0.25, 1.0, 0.9) == "HR 0.50 (90% CI 0.25 to 1.00)"
    assert hr_cell({"hr": 0.5, "ci_lower": 0.25, "ci_upper": 1.0}) == "0.50 (0.25 to 1.00)"
    assert fmt_level(0.975) == "97.5%"
    assert fmt_pct(0.5) == "50.0 %"


def test_pages_report_and_slides_share_one_formatting_module() -> None:
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for path in [*root.glob("blinastudy/*.py"), *root.glob("pages/**/*.py"), root / "app.py"]:
        if path.name == "formatting.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name.startswith("fmt_")
        }
        assert not defined, f"{path.name} defines its own number formats: {sorted(defined)}"


def test_failed_matching_is_described() -> None:
    from blinastudy.analysis import analyze
    from tests._demo_result import demo_cohort

    # exact strata on a column the controls lack: nothing can be matched
    s = Settings(sweep_calipers=()).update(matching__exact=("blina_start_months",))
    res = analyze(demo_cohort(), s, sweep=False)
    assert res.match is None
    text = methods_text(s, res)
    assert "Matching failed" in text
    assert "survival was compared in all patients" in text
    assert "model-based standard errors" in text and "cluster-robust" not in text
