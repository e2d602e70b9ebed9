"""Covariate balance (blinastudy.stats.balance) against MatchIt 4.5.1's summary(), by hand and by
properties.

The R reference (tests/data/make_balance_reference.R) exports MatchIt's own weights
(``m.out$weights``) with its balance tables; the tests feed those weights to
:func:`balance` and compare every number.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import blinastudy.stats.balance as balance_module
from blinastudy.core.errors import InputError
from blinastudy.stats.balance import (
    BALANCE_COLUMNS,
    EXTENDED_SUMS,
    MEAN_COLUMNS,
    balance,
    effective_sample_size,
)
from blinastudy.stats.matching import match
from tests._balance import R_COLUMNS, SETTINGS
from tests._cells import num

DATA = Path(__file__).parent / "data"
REL = 1e-6
SQRT_EPS = math.sqrt(np.finfo(float).eps)
EXPECTED: dict[str, Any] = json.loads((DATA / "balance.expected.json").read_text())
CASES = EXPECTED["cases"]


@pytest.fixture(
    params=[True, False] if EXTENDED_SUMS else [False],
    ids=lambda extended: "long-double-sums" if extended else "fsum",
)
def sums(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a test with each way of summing this platform has (see balance._fsum)."""
    monkeypatch.setattr(balance_module, "EXTENDED_SUMS", request.param)


# ---------------------------------------------------------------------------
# R reference


def _case(name: str) -> tuple[pd.DataFrame, dict[str, Any], pd.Series]:
    case = CASES[name]
    frame = pd.read_csv(DATA / case["data"], index_col=case["id"])
    # MatchIt's first balance row is the propensity score ("distance")
    frame.insert(0, "distance", pd.Series(case["distance"], dtype=float))
    weights = pd.Series(case["weights"], dtype=float)
    return frame, case, weights


def _assert_like_r(table: pd.DataFrame, case: dict[str, Any]) -> None:
    for part, when in (("sum_all", "before"), ("sum_matched", "after")):
        expected = case[part]
        assert list(table.index) == expected["covariate"]  # names and order as MatchIt's
        for key, column in R_COLUMNS.items():
            want = np.array([np.nan if v is None else v for v in expected[key]], dtype=float)
            got = table[f"{column}_{when}"].to_numpy()
            np.testing.assert_allclose(got, want, rtol=REL, atol=0, err_msg=f"{part} {key}")


@pytest.mark.usefixtures("sums")
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_matchit_summary_given_its_weights(name: str) -> None:
    frame, case, weights = _case(name)
    table = balance(frame, case["treatment"], ["distance", *case["covariates"]], weights=weights)
    assert list(table.columns) == BALANCE_COLUMNS + MEAN_COLUMNS
    _assert_like_r(table, case)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_matchit_summary_given_matched_rows(name: str) -> None:
    """The same weights as a frame of matched rows, one row per use of a patient."""
    frame, case, weights = _case(name)
    kept = frame[weights > 0].assign(weight=weights[weights > 0])
    # split every control's weight over two rows (as a control used twice is listed)
    controls = kept[kept[case["treatment"]] == 0]
    treated = kept[kept[case["treatment"]] == 1]
    rows = pd.concat(
        [
            treated,
            controls.assign(weight=controls["weight"] * 0.25),
            controls.assign(weight=controls["weight"] * 0.75),
        ]
    )
    table = balance(frame, case["treatment"], ["distance", *case["covariates"]], matched=rows)
    _assert_like_r(table, case)


def test_reference_exercises_matchit_special_cases() -> None:
    """Guard: the stored reference covers the conventions it is meant to pin down."""
    synth = CASES["synthetic_nearest"]["sum_all"]
    row = dict(zip(synth["covariate"], range(len(synth["covariate"])), strict=True))
    # sex 1/2 and grade 2/3 are continuous for MatchIt: they have a variance ratio
    assert synth["var_ratio"][row["sex"]] is not None
    assert synth["var_ratio"][row["grade"]] is not None
    assert synth["var_ratio"][row["cns"]] is None
    # three levels, all kept
    assert [c for c in synth["covariate"] if c.startswith("risk")] == [
        "riskHR",
        "riskIR",
        "riskSR",
    ]
    # mean differences below sqrt(eps) are reported raw
    tiny = row["tiny"]
    diff = synth["means_treated"][tiny] - synth["means_control"][tiny]
    assert synth["smd"][tiny] == pytest.approx(diff, rel=1e-9)
    # constants among the treated: MatchIt divides by the pooled SD
    data = pd.read_csv(DATA / "balance_synthetic.csv")
    assert data.loc[data["treat"] == 1, ["mrd", "cns"]].nunique().tolist() == [1, 1]
    # reuse of controls with replacement: per-patient weights other than 0 and 1
    assert len(set(CASES["lalonde_replace"]["weights"].values())) > 2
    # a single matched pair: MatchIt's too.small gives no SMD and no variance ratio
    single = CASES["single_nearest"]["sum_matched"]
    assert single["smd"][1] is None and single["var_ratio"][1] is None


# ---------------------------------------------------------------------------
# by hand (each fails on the former convention)


def test_one_two_coded_covariate_is_continuous() -> None:
    # treated sex 1, 2, 2 (mean 5/3, var 1/3); controls 1, 1, 2 (mean 4/3, var 1/3)
    f = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "sex": [1, 2, 2, 1, 1, 2], "b": [0, 1, 1, 0, 0, 1]})
    table = balance(f, "t", ["sex", "b"])
    assert table.loc["sex", "smd_before"] == pytest.approx((1 / 3) / math.sqrt(1 / 3), rel=1e-14)
    assert table.loc["sex", "variance_ratio_before"] == pytest.approx(1.0, rel=1e-14)
    # the same split coded 0/1 is binary: SD sqrt(p (1 - p)) = sqrt(2/9), no variance ratio
    assert table.loc["b", "smd_before"] == pytest.approx((1 / 3) / math.sqrt(2 / 9), rel=1e-14)
    assert np.isnan(num(table.loc["b", "variance_ratio_before"]))


def test_continuous_constant_among_treated_uses_proportional_pooled_sd() -> None:
    # treated 2, 2, 2 (SD 0); controls 1, 3, 5: within-arm sum of squares 8, over n - 1 = 5
    f = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "x": [2.0, 2.0, 2.0, 1.0, 3.0, 5.0]})
    row = balance(f, "t", ["x"]).loc["x"]
    assert row["smd_before"] == pytest.approx(-1 / math.sqrt(8 / 5), rel=1e-14)
    assert row["variance_ratio_before"] == 0.0


def test_binary_constant_among_treated_uses_proportional_pooled_sd() -> None:
    # treated p = 0 (2 patients), controls 1 of 4: sqrt((0 + 1 (1 - 1/4)) / 6)
    f = pd.DataFrame({"t": [1, 1, 0, 0, 0, 0], "b": [0, 0, 1, 0, 0, 0]})
    smd = balance(f, "t", ["b"]).loc["b", "smd_before"]
    assert smd == pytest.approx(-0.25 / math.sqrt(0.75 / 6), rel=1e-14)


def test_single_treated_patient_uses_pooled_sd_and_has_no_variance_ratio() -> None:
    # one treated (SD undefined); controls 0, 2, 4: sum of squares 8 over n - 1 = 3
    f = pd.DataFrame({"t": [1, 0, 0, 0], "x": [1.0, 0.0, 2.0, 4.0]})
    row = balance(f, "t", ["x"]).loc["x"]
    assert row["smd_before"] == pytest.approx(-1 / math.sqrt(8 / 3), rel=1e-14)
    assert np.isnan(row["variance_ratio_before"])  # 0/0 for the single treated patient


def test_arms_without_any_variation_give_an_infinite_smd() -> None:
    f = pd.DataFrame({"t": [1, 1, 0, 0], "b": [1, 1, 0, 0], "x": [5.0, 5.0, 3.0, 3.0]})
    table = balance(f, "t", ["b", "x"])
    assert table["smd_before"].tolist() == [math.inf, math.inf]


def test_mean_difference_below_sqrt_eps_is_reported_raw() -> None:
    f = pd.DataFrame({"t": [1, 1, 0, 0], "x": [1e-9, 3e-9, 0.0, 2e-9]})
    row = balance(f, "t", ["x"]).loc["x"]
    assert row["smd_before"] == pytest.approx(1e-9, rel=1e-9)  # not 1e-9 / SD = 0.707
    assert row["mean_treated_before"] - row["mean_control_before"] == row["smd_before"]


@pytest.mark.usefixtures("sums")
def test_matched_means_equal_gives_zero_not_rounding_noise() -> None:
    # summed left to right, 0.1 + 0.2 + 0.3 and 0.2 + 0.3 + 0.1 differ in the last bit, which
    # the SMD column would report raw (5.6e-17); R's extended-precision sum gives exactly 0
    # (MatchIt:::bal1var on these data: Std. Mean Diff. 0, Var. Ratio 1)
    f = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0, 0], "x": [0.1, 0.2, 0.3, 0.2, 0.3, 0.1, 9.0]})
    row = balance(f, "t", ["x"], weights=[1, 1, 1, 1, 1, 1, 0]).loc["x"]
    assert row["smd_after"] == 0.0
    assert row["variance_ratio_after"] == pytest.approx(1.0, rel=1e-14)


def test_too_small_after_matching_gives_nan() -> None:
    # one treated and one control carry weight: MatchIt's too.small, no SMD, no ratio
    f = pd.DataFrame({"t": [1, 1, 0, 0], "x": [1.0, 3.0, 0.0, 2.0], "c": [1.0, 3.0, 1.0, 5.0]})
    table = balance(f, "t", ["x", "c"], weights=[1, 0, 1, 0])
    assert np.isnan(num(table.loc["x", "smd_after"])) and np.isnan(
        num(table.loc["x", "variance_ratio_after"])
    )
    assert table.loc["x", "mean_control_after"] == 0.0
    # equal means are still reported (the raw difference, 0)
    assert table.loc["c", "smd_after"] == 0.0
    # both arms need fewer than two units: one treated against two controls is not too small
    row = balance(f, "t", ["x"], weights=[1, 0, 1, 1]).loc["x"]
    assert row["smd_after"] == pytest.approx((1 - 1) / math.sqrt(2)) and row["smd_after"] == 0
    assert np.isnan(row["variance_ratio_after"])  # 0/0: single weighted treated patient


def test_reused_control_counts_once_with_its_summed_weight() -> None:
    # treated 1, 2, 4; control "c0" (x = 0) matched twice, "c3" (x = 3) once.
    # MatchIt weights: c0 4/3, c3 2/3. Treated variance 7/3; control (normalised weights
    # 2/3, 1/3): mean 1, variance (2/3 * 1 + 1/3 * 4) / (1 - 4/9 - 1/9) = 9/2, ratio 14/27.
    # One row per use would give variance 2 / (1 - 3/9) = 3, ratio 7/9.
    f = pd.DataFrame(
        {"t": [1, 1, 1, 0, 0, 0], "x": [1.0, 2.0, 4.0, 0.0, 3.0, 6.0]},
        index=["t1", "t2", "t4", "c0", "c3", "c6"],
    )
    per_use = f.loc[["t1", "c0", "t2", "c0", "t4", "c3"]].assign(
        weight=[1, 2 / 3, 1, 2 / 3, 1, 2 / 3]
    )
    by_rows = balance(f, "t", ["x"], matched=per_use).loc["x"]
    by_weights = balance(f, "t", ["x"], weights=[1, 1, 1, 4 / 3, 2 / 3, 0]).loc["x"]
    for row in (by_rows, by_weights):
        assert row["variance_ratio_after"] == pytest.approx(14 / 27, rel=1e-14)
        assert row["smd_after"] == pytest.approx((7 / 3 - 1) / math.sqrt(7 / 3), rel=1e-14)
        assert row["mean_control_after"] == pytest.approx(1.0, rel=1e-14)


def test_weights_series_is_aligned_by_label() -> None:
    f = pd.DataFrame({"t": [1, 1, 0, 0, 0], "x": [1.0, 3.0, 0.0, 2.0, 9.0]}, index=list("abcde"))
    w = pd.Series([0.0, 1.0, 1.0, 1.0, 1.0], index=list("edcba"))
    got = balance(f, "t", ["x"], weights=w)
    want = balance(f, "t", ["x"], weights=[1, 1, 1, 1, 0])
    pd.testing.assert_frame_equal(got, want)


def test_categorical_levels_follow_factor_order_and_drop_unused() -> None:
    risk = pd.Categorical(
        ["SR", "HR", "HR", "IR", "SR", "SR"], categories=["SR", "IR", "HR", "VHR"]
    )
    f = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "risk": risk, "site": list("bAaBab")})
    table = balance(f, "t", ["risk", "site"])
    assert list(table.index) == ["riskSR", "riskIR", "riskHR", "siteA", "siteB", "sitea", "siteb"]
    # riskSR: treated 1/3, controls 2/3, treated SD sqrt(2/9)
    assert table.loc["riskSR", "smd_before"] == pytest.approx((-1 / 3) / math.sqrt(2 / 9))
    assert table["variance_ratio_before"].isna().all()


def test_before_columns_do_not_depend_on_the_matched_sample() -> None:
    f = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "x": [1.0, 2.0, 4.0, 0.0, 3.0, 6.0]})
    before = balance(f, "t", ["x"])
    after = balance(f, "t", ["x"], weights=[1, 1, 0, 1, 1, 0])
    cols = [c for c in before.columns if c.endswith("_before")]
    pd.testing.assert_frame_equal(before[cols], after[cols])
    assert before[[c for c in before.columns if c.endswith("_after")]].isna().all().all()


# ---------------------------------------------------------------------------
# bad input

F = pd.DataFrame({"t": [1, 1, 0, 0], "x": [1.0, 3.0, 0.0, 2.0]}, index=["p1", "p2", "p3", "p4"])


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"weights": [1, 1, 1, 1], "matched": F}, r"either matched or weights"),
        (
            {"weights": [1, np.nan, 1, 1]},
            r"weights has missing or infinite values at patient 'p2' \(missing\)",
        ),
        ({"weights": [1, 1, -0.5, 1]}, r"weights must be >= 0; not at patient 'p3' \(-0.5\)"),
        ({"weights": [1, 1, 1]}, r"weights has 3 values for 4 rows"),
        ({"weights": [1, 1, 1e300, 1]}, r"weights must be at most 1e\+150; not at patient 'p3'"),
        ({"weights": [1, 1, 0, 0]}, r"no control patient has a positive weight"),
        ({"weights": [0, 0, 1, 1]}, r"no treated patient has a positive weight"),
        ({"weights": ["a", 1, 1, 1]}, r"weights must be numbers"),
        ({"weights": pd.Series([1.0] * 4, index=["p1", "p2", "p3", "q4"])}, r"no weight for.*p4"),
        (
            {"matched": F.assign(weight=[1, np.inf, 1, 1])},
            r"column 'weight' has missing or infinite values at patient 'p2' \(inf\)",
        ),
        ({"matched": F.assign(weight=[1, 1, 0, 0])}, r"no control patient has a positive weight"),
        (
            {"matched": pd.concat([F, F.loc[["p3"]].assign(x=5.0)])},
            r"same index label must be the same patient.*'p3'",
        ),
        (
            {"matched": F.assign(x=["a", "b", "a", "b"])},
            r"matched sample has covariate level\(s\) absent from the full sample",
        ),
    ],
)
def test_rejects_bad_weights(kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(InputError, match=pattern) as info:
        balance(F, "t", ["x"], **kwargs)
    assert "np." not in str(info.value)


def test_rejects_duplicated_labels_when_aggregating_matched_rows() -> None:
    f = pd.concat([F, F.iloc[:1]])
    with pytest.raises(InputError, match=r"repeats \['p1'\]"):
        balance(f, "t", ["x"], matched=F)


def test_integer_labels_are_named_without_numpy_repr() -> None:
    f = F.reset_index(drop=True)
    with pytest.raises(InputError, match=r"at entry 2 \(missing\)") as info:
        balance(f, "t", ["x"], weights=np.array([1.0, np.nan, 1.0, 1.0]))
    assert "np." not in str(info.value)


def test_no_runtime_warnings(recwarn: pytest.WarningsRecorder) -> None:
    f = pd.DataFrame({"t": [1, 0, 0], "x": [1.0, 1.0, 1.0], "y": [1.0, 0.0, 2.0]})
    balance(f, "t", ["x", "y"], weights=[1, 1, 0])
    balance(pd.DataFrame({"t": [1, 0], "b": [1, 0]}), "t", ["b"])
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


# ---------------------------------------------------------------------------
# properties


@st.composite
def weighted_frames(draw: st.DrawFn) -> tuple[pd.DataFrame, np.ndarray]:
    n_t = draw(st.integers(1, 10))
    n_c = draw(st.integers(1, 15))
    n = n_t + n_c
    t = np.array([1] * n_t + [0] * n_c)
    x = draw(st.lists(st.integers(-20, 20), min_size=n, max_size=n))
    b = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    w = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]), min_size=n, max_size=n)))
    assume(w[t == 1].max() > 0 and w[t == 0].max() > 0)
    frame = pd.DataFrame({"t": t, "x": np.array(x) / 4, "b": b}, index=[f"P{i}" for i in range(n)])
    return frame, w


def _close(got: pd.DataFrame, want: pd.DataFrame, rel: float = 1e-9) -> None:
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=rel, atol=1e-12)


@SETTINGS
@given(
    data=weighted_frames(),
    shift=st.sampled_from([-7.0, 0.0, 3.5, 100.0]),
    scale=st.sampled_from([0.5, 3.0, 40.0]),
)
def test_smd_invariant_to_shift_and_scale(
    data: tuple[pd.DataFrame, np.ndarray], shift: float, scale: float
) -> None:
    frame, w = data
    x = frame["x"].to_numpy()
    y = shift + scale * x
    # a covariate stays continuous (not all 0/1) under the change of units
    assume(not np.isin(x, (0, 1)).all() and not np.isin(y, (0, 1)).all())
    base = balance(frame, "t", ["x"], weights=w).loc["x"]
    moved = balance(frame.assign(x=y), "t", ["x"], weights=w).loc["x"]
    for when in ("before", "after"):
        d = abs(base[f"mean_treated_{when}"] - base[f"mean_control_{when}"])
        if d > 1e-6:  # differences near sqrt(eps) are reported raw, not standardised
            assert moved[f"smd_{when}"] == pytest.approx(base[f"smd_{when}"], rel=1e-9)
        # a constant arm has variance 0 only up to rounding (in R's formula too): compare
        # the ratios of arms that vary
        vr = base[f"variance_ratio_{when}"]
        if np.isfinite(vr) and vr > 1e-9:
            assert moved[f"variance_ratio_{when}"] == pytest.approx(vr, rel=1e-9)


@SETTINGS
@given(
    data=weighted_frames(), a=st.sampled_from([0.1, 3.0, 7.5]), c=st.sampled_from([0.2, 1.0, 13.0])
)
def test_scaling_weights_within_an_arm_changes_nothing(
    data: tuple[pd.DataFrame, np.ndarray], a: float, c: float
) -> None:
    frame, w = data
    t = frame["t"].to_numpy()
    base = balance(frame, "t", ["x", "b"], weights=w)
    scaled = balance(frame, "t", ["x", "b"], weights=np.where(t == 1, a * w, c * w))
    _close(scaled, base)


@SETTINGS
@given(data=weighted_frames(), copies=st.lists(st.integers(1, 3), min_size=25, max_size=25))
def test_per_use_rows_aggregate_to_per_patient_weights(
    data: tuple[pd.DataFrame, np.ndarray], copies: list[int]
) -> None:
    frame, w = data
    keep = np.flatnonzero(w > 0)
    # every weighted patient listed k times, each row with weight w / k
    reps = np.repeat(keep, [copies[i] for i in keep])
    k = np.array([copies[i] for i in reps], dtype=float)
    rows = frame.iloc[reps].assign(weight=w[reps] / k)
    by_rows = balance(frame, "t", ["x", "b"], matched=rows)
    by_weights = balance(frame, "t", ["x", "b"], weights=w)
    _close(by_rows, by_weights, rel=1e-12)


@SETTINGS
@given(n_t=st.integers(2, 8), n_c=st.integers(2, 8), seed=st.integers(0, 10_000))
def test_matchresult_with_replacement_equals_its_per_patient_weights(
    n_t: int, n_c: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"t": [1] * n_t + [0] * n_c, "x": rng.integers(0, 6, n_t + n_c) / 2},
        index=[f"P{i}" for i in range(n_t + n_c)],
    )
    try:
        res = match(frame, "t", ["x"], caliper=None, ratio=2, replace=True)
    except InputError:
        return
    w = res.matched.groupby(level=0)["weight"].sum().reindex(frame.index, fill_value=0.0)
    _close(balance(frame, "t", ["x"], matched=res), balance(frame, "t", ["x"], weights=w))


# ---------------------------------------------------------------------------
# estimands: the SD that standardises (MatchIt's s.d.denom), and effective sample sizes


def test_ate_divides_by_the_pooled_sd_of_the_full_sample() -> None:
    # treated 1, 3 (variance 2), controls -1, 3, 5 (mean 7/3, variance 28/3)
    f = pd.DataFrame({"t": [1, 1, 0, 0, 0], "x": [1.0, 3.0, -1.0, 3.0, 5.0]})
    diff = 2 - 7 / 3
    att = balance(f, "t", ["x"]).loc["x", "smd_before"]
    ate = balance(f, "t", ["x"], estimand="ATE").loc["x", "smd_before"]
    ato = balance(f, "t", ["x"], estimand="ATO").loc["x", "smd_before"]
    assert att == pytest.approx(diff / math.sqrt(2), rel=1e-14)
    assert ate == pytest.approx(diff / math.sqrt((2 + 28 / 3) / 2), rel=1e-14)
    assert ato == ate
    # after weighting too: the same full-sample SD, the weighted difference in means
    w = [1.0, 3.0, 2.0, 1.0, 1.0]
    row = balance(f, "t", ["x"], weights=w, estimand="ATE").loc["x"]
    diff_w = (1 + 9) / 4 - (-2 + 3 + 5) / 4
    assert row["smd_after"] == pytest.approx(diff_w / math.sqrt((2 + 28 / 3) / 2), rel=1e-14)


def test_ate_pools_binary_variances_as_p_times_one_minus_p() -> None:
    # treated 1 of 4, controls 3 of 4: (3/16 + 3/16) / 2
    f = pd.DataFrame({"t": [1] * 4 + [0] * 4, "b": [1, 0, 0, 0, 1, 1, 1, 0]})
    smd = balance(f, "t", ["b"], estimand="ATE").loc["b", "smd_before"]
    assert smd == pytest.approx(-0.5 / math.sqrt(3 / 16), rel=1e-14)
    assert np.isnan(num(balance(f, "t", ["b"], estimand="ATE").loc["b", "variance_ratio_before"]))


def test_ate_falls_back_to_the_proportional_pooled_sd() -> None:
    # one treated patient: its variance is 0/0, the pooled mean NaN -> MatchIt's fallback,
    # the within-arm sum of squares over n - 1 (controls 0, 2, 4: 8 / 3), as for the ATT
    f = pd.DataFrame({"t": [1, 0, 0, 0], "x": [1.0, 0.0, 2.0, 4.0]})
    ate = balance(f, "t", ["x"], estimand="ATE").loc["x", "smd_before"]
    assert ate == pytest.approx(-1 / math.sqrt(8 / 3), rel=1e-14)
    # both arms constant: pooled SD 0, fallback 0 too -> infinite, as in R
    g = pd.DataFrame({"t": [1, 1, 0, 0], "x": [5.0, 5.0, 3.0, 3.0]})
    assert balance(g, "t", ["x"], estimand="ATE").loc["x", "smd_before"] == math.inf
    # constant among the treated only: the pooled SD is not 0, no fallback
    h = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "x": [2.0, 2.0, 2.0, 1.0, 3.0, 5.0]})
    got = balance(h, "t", ["x"], estimand="ATE").loc["x", "smd_before"]
    assert got == pytest.approx(-1 / math.sqrt(4 / 2), rel=1e-14)


def test_estimand_changes_only_the_smd() -> None:
    f = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0, 0], "x": [1.0, 2.0, 4.0, 0.0, 3.0, 6.0, 1.0]})
    w = [1.0, 2.0, 1.0, 0.5, 1.0, 3.0, 0.0]
    att = balance(f, "t", ["x"], weights=w)
    ate = balance(f, "t", ["x"], weights=w, estimand="ATE")
    same = [c for c in att.columns if not c.startswith("smd")]
    pd.testing.assert_frame_equal(att[same], ate[same])
    assert not np.allclose(att["smd_before"], ate["smd_before"])


def test_rejects_unknown_estimand() -> None:
    with pytest.raises(InputError, match=r"estimand must be one of ATT, ATE, ATO; got 'ATC'"):
        balance(F, "t", ["x"], estimand="ATC")  # type: ignore[arg-type]


def test_effective_sample_size_by_hand() -> None:
    # treated 1, 1, 2: 16 / 6; controls 3, 0, 1: 16 / 10 (a zero weight adds nothing)
    ess = effective_sample_size([1, 1, 1, 0, 0, 0], [1.0, 1.0, 2.0, 3.0, 0.0, 1.0])
    assert ess == {"treated": pytest.approx(16 / 6, rel=1e-15), "control": 1.6}
    t = pd.Series(["blinatumomab", "chemotherapy"], index=["a", "b"])
    assert effective_sample_size(t, pd.Series([2.0, 5.0], index=["a", "b"])) == {
        "treated": 1.0,
        "control": 1.0,
    }


@pytest.mark.parametrize(
    ("treatment", "weights", "pattern"),
    [
        ([1, 0, 0], [1.0, 0.0, 0.0], r"no control patient has a positive weight"),
        ([1, 0, 0], [1.0, -1.0, 1.0], r"weights must be >= 0; not at entry 2 \(-1\)"),
        ([1, 0, 0], [1.0, 1.0], r"weights has 2 values for 3 rows"),
        ([1, 1, 1], [1.0, 1.0, 1.0], r"single arm"),
        (
            pd.Series([1, 0], index=["a", "b"]),
            pd.Series([1.0, 1.0], index=["a", "c"]),
            r"indexed like the treatment",
        ),
    ],
)
def test_effective_sample_size_rejects_bad_input(
    treatment: Any, weights: Any, pattern: str
) -> None:
    with pytest.raises(InputError, match=pattern) as info:
        effective_sample_size(treatment, weights)
    assert "np." not in str(info.value)


@SETTINGS
@given(
    data=weighted_frames(),
    estimand=st.sampled_from(["ATT", "ATE", "ATO"]),
    c=st.sampled_from([1.0, 0.25, 7.0]),
)
def test_uniform_weights_reproduce_the_unweighted_balance(
    data: tuple[pd.DataFrame, np.ndarray], estimand: str, c: float
) -> None:
    frame, _ = data
    table = balance(frame, "t", ["x", "b"], weights=np.full(len(frame), c), estimand=estimand)  # type: ignore[arg-type]
    for stat in ("smd", "variance_ratio", "mean_treated", "mean_control"):
        np.testing.assert_allclose(
            table[f"{stat}_after"].to_numpy(),
            table[f"{stat}_before"].to_numpy(),
            rtol=1e-12,
            atol=1e-15,
        )


@SETTINGS
@given(data=weighted_frames(), c=st.sampled_from([0.5, 3.0]))
def test_effective_sample_size_properties(data: tuple[pd.DataFrame, np.ndarray], c: float) -> None:
    frame, w = data
    t = frame["t"].to_numpy()
    ess = effective_sample_size(t, w)
    for arm, name in ((1, "treated"), (0, "control")):
        positive = int(np.sum(w[t == arm] > 0))
        assert 1 - 1e-12 <= ess[name] <= positive * (1 + 1e-12)
    scaled = effective_sample_size(t, c * w)
    assert scaled["treated"] == pytest.approx(ess["treated"], rel=1e-12)
    # equal weights: the number of weighted patients
    ones = effective_sample_size(t, (w > 0).astype(float))
    assert ones["control"] == pytest.approx(np.sum((w > 0) & (t == 0)), rel=1e-15)
