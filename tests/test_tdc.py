"""Counting-process survival against R (survival 3.5-3): tmerge splits at a
time-dependent exposure, Kaplan-Meier with delayed entry, Cox on (start, stop]
rows and the Mantel-Byar test; hand-computed cases; properties; messages.

Reference numbers from ``tests/data/make_tdc_reference.R`` (inputs ``tdc_*.csv``,
expected ``tdc.expected.json``), compared to 1e-6 relative.
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.stats.survival import (
    cox,
    cox_fit,
    kaplan_meier,
    logrank,
    median_survival,
    split_at,
    survival_at,
)
from blinastudy.stats.survival import coxph as coxph_module
from blinastudy.stats.survival import tdc as tdc_module
from blinastudy.stats.survival.timefix import timefix
from tests._cells import num
from tests._reference import DATA, KM_FIELDS, assert_r


@cache
def expected() -> dict[str, Any]:
    out: dict[str, Any] = json.loads((DATA / "tdc.expected.json").read_text())
    return out


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, float_precision="round_trip")


@cache
def heart() -> pd.DataFrame:
    return _csv("tdc_heart.csv")


@cache
def jasa() -> pd.DataFrame:
    return _csv("tdc_jasa.csv")


@cache
def synth() -> pd.DataFrame:
    return _csv("tdc_synth.csv")


@cache
def veteran() -> pd.DataFrame:
    return _csv("tdc_veteran.csv")


@cache
def neartie() -> pd.DataFrame:
    """Months from days two ways: starts as days / 365.25 * 12, stops as days / (365.25 / 12)."""
    frame = _csv("tdc_neartie.csv")
    return frame.assign(
        start=frame["start_days"] / 365.25 * 12, stop=frame["stop_days"] / (365.25 / 12)
    )


@cache
def jasa_split() -> pd.DataFrame:
    return split_at(jasa(), id="id", duration="futime", event="fustat", at="wait")


@cache
def synth_split() -> pd.DataFrame:
    return split_at(synth(), id="id", duration="futime", event="status", at="at")


# --------------------------------------------------------------------------- tmerge


@pytest.mark.parametrize("case", ["jasa", "synth"])
def test_split_at_is_tmerge(case: str) -> None:
    out, event = (jasa_split(), "fustat") if case == "jasa" else (synth_split(), "status")
    ref = expected()["split"][case]
    assert out["id"].astype(str).tolist() == ref["id"]
    assert_r(out["start"], ref["start"], "start")
    assert_r(out["stop"], ref["stop"], "stop")
    assert out[event].tolist() == ref["event"]
    assert out["exposed"].tolist() == ref["exposed"]


def test_split_at_rules_at_the_edges() -> None:
    # synth patients 1-4 are exposed exactly at their end of follow-up, 5-6 after it:
    # one unexposed row each (tmerge: a row is exposed when at <= its start)
    out = synth_split()
    for pid in ["S01", "S02", "S03", "S04", "S05", "S06"]:
        rows = out[out["id"] == pid]
        assert len(rows) == 1 and rows["exposed"].tolist() == [0]
    frame = pd.DataFrame(
        {"pid": ["a", "b", "c", "d", "e"], "t": [5.0, 5.0, 5.0, 5.0, 5.0], "e": [1, 1, 0, 1, 1],
         "at": [-1.0, 0.0, 2.0, 5.0, np.nan], "age": [1, 2, 3, 4, 5]},
        index=["P1", "P2", "P3", "P4", "P5"],
    )  # fmt: skip
    got = split_at(frame, id="pid", duration="t", event="e", at="at", name="blina")
    assert got[["start", "stop", "e", "blina"]].to_numpy().tolist() == [
        [0, 5, 1, 1],  # before the origin: exposed from the start
        [0, 5, 1, 1],  # at 0: exposed from the start
        [0, 2, 0, 0],  # inside: two rows, the event on the last only
        [2, 5, 0, 1],
        [0, 5, 1, 0],  # at the end: unexposed
        [0, 5, 1, 0],  # missing: unexposed
    ]
    assert got.index.tolist() == ["P1", "P2", "P3", "P3", "P4", "P5"]
    assert got["age"].tolist() == [1, 2, 3, 3, 4, 5]
    assert "t" not in got.columns


# --------------------------------------------------------------------------- Kaplan-Meier


def _km_case(case: str, conf_type: str) -> pd.DataFrame:
    if case == "heart":
        h = heart()
        return kaplan_meier(h["stop"], h["event"], entry=h["start"], conf_type=conf_type)  # type: ignore[arg-type]
    if case == "veteran":
        v = veteran()
        return kaplan_meier(v["exit"], v["status"], entry=v["entry"], conf_type=conf_type)  # type: ignore[arg-type]
    if case == "neartie":
        nt = neartie()
        return kaplan_meier(nt["stop"], nt["event"], entry=nt["start"], conf_type=conf_type)  # type: ignore[arg-type]
    s = synth_split()
    w = s["w"] if case == "synth_w" else np.round(s["w"] * 2)
    return kaplan_meier(s["stop"], s["status"], entry=s["start"], weights=w, conf_type=conf_type)  # type: ignore[arg-type]


def _assert_km(km: pd.DataFrame, ref: dict[str, Any], what: str) -> None:
    for field in KM_FIELDS:
        assert_r(km[field], ref[field], f"{what} {field}")
    assert_r(km.attrs["std_err"], ref["std_err"], f"{what} std_err")
    assert km.attrs["logse"] == ref["logse"]


@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
@pytest.mark.parametrize("case", ["heart", "veteran", "synth_w", "synth_intw", "neartie"])
def test_delayed_entry_km_is_survfit(case: str, conf_type: str) -> None:
    _assert_km(_km_case(case, conf_type), expected()["km"][case][conf_type], case)


@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
@pytest.mark.parametrize("exposed", [0, 1])
def test_simon_makuch_curves_are_survfit_on_the_split_rows(exposed: int, conf_type: str) -> None:
    rows = jasa_split()[jasa_split()["exposed"] == exposed]
    km = kaplan_meier(rows["stop"], rows["fustat"], entry=rows["start"], conf_type=conf_type)  # type: ignore[arg-type]
    _assert_km(km, expected()["km"]["jasa_exposed"][str(exposed)][conf_type], f"exposed {exposed}")


def test_survival_at_and_median_on_a_delayed_entry_table() -> None:
    h = heart()
    km = kaplan_meier(h["stop"], h["event"], entry=h["start"], conf_type="log")
    ref = expected()["km_at"]
    got = [survival_at(km, t) for t in ref["times"]]
    assert_r([g.survival for g in got], ref["survival"], "survival")
    assert_r([g.std_err for g in got], ref["std_err"], "std_err")
    assert_r([g.n_at_risk for g in got], ref["n_at_risk"], "n_at_risk")
    assert_r([g.ci_lower for g in got], ref["ci_lower"], "lower")
    assert_r([g.ci_upper for g in got], ref["ci_upper"], "upper")
    med = median_survival(km)
    want = expected()["km_median"]
    assert_r(
        [med.quantile, med.ci_lower, med.ci_upper],
        [want["median"], want["lower"], want["upper"]],
        "median",
    )


# --------------------------------------------------------------------------- Cox


def _cox_case(case: str) -> pd.DataFrame:
    h, s, j = heart(), synth_split(), jasa_split()
    three = ["transplant", "age", "surgery"]
    risk = {"risk": "LR"}
    cases: dict[str, Any] = {
        "heart": lambda: cox(h, "stop", "event", three, start="start", cluster="id"),
        "heart_breslow": lambda: cox(
            h, "stop", "event", three, start="start", cluster="id", ties="breslow"
        ),
        "heart_tx": lambda: cox(h, "stop", "event", ["transplant"], start="start", cluster="id"),
        "heart_naive": lambda: cox(h, "stop", "event", ["transplant", "age"], start="start"),
        "jasa": lambda: cox(j, "stop", "fustat", ["exposed", "age"], start="start", cluster="id"),
        "synth": lambda: cox(
            s, "stop", "status", ["exposed", "risk", "age"], start="start", cluster="id",
            reference=risk,
        ),
        "synth_w": lambda: cox(
            s, "stop", "status", ["exposed", "risk", "age"], start="start", cluster="id",
            weights="w", reference=risk,
        ),
        "synth_w_pair": lambda: cox(
            s, "stop", "status", ["exposed", "age"], start="start", cluster="pair", weights="w"
        ),
        "synth_w_rows": lambda: cox(s, "stop", "status", ["exposed"], start="start", weights="w"),
        "synth_strata": lambda: cox(
            s, "stop", "status", ["exposed", "age"], start="start", cluster="id", strata="sex"
        ),
        "veteran": lambda: cox(veteran(), "exit", "status", ["trt", "karno"], start="entry"),
        "neartie": lambda: cox(neartie(), "stop", "event", ["x"], start="start", cluster="id"),
    }  # fmt: skip
    table: pd.DataFrame = cases[case]()
    return table


@pytest.mark.parametrize("case", sorted(expected()["cox"]))
def test_counting_process_cox_is_coxph(case: str) -> None:
    table = _cox_case(case)
    ref = expected()["cox"][case]
    assert list(table.index) == ref["names"]
    for name in ref["names"]:
        assert_r(np.log(num(table.loc[name, "hr"])), ref["coef"][name], f"{name} coef")
        assert_r(table.loc[name, "se"], ref["se"][name], f"{name} se")
        assert_r(table.loc[name, "p_value"], ref["p_value"][name], f"{name} p")
    assert (table["method"] == ("ml-robust" if ref["robust"] else "ml")).all()
    assert_r(table.attrs["loglik"], ref["loglik"], "loglik")
    assert table.attrs["n"] == ref["n"]
    assert table.attrs["n_events"] == ref["n_events"]


@pytest.mark.parametrize("case", ["heart_tx", "veteran", "synth_w_rows", "neartie"])
def test_both_likelihood_evaluators_handle_start_stop(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # these few-pattern designs go through the pattern counts; without them, row by row
    by_pattern = _cox_case(case)
    monkeypatch.setattr(coxph_module._PatternRisk, "MAX_PATTERNS", 0)
    by_row = _cox_case(case)
    ref = expected()["cox"][case]
    for table in (by_pattern, by_row):
        for name in ref["names"]:
            assert_r(np.log(num(table.loc[name, "hr"])), ref["coef"][name], f"{name} coef")
            assert_r(table.loc[name, "se"], ref["se"][name], f"{name} se")


@pytest.mark.parametrize("case", ["heart", "synth_w"])
def test_counting_process_model_based_se_is_coxph(case: str) -> None:
    if case == "heart":
        h = heart()
        fit = cox_fit(
            h[["transplant", "age", "surgery"]], h["stop"], h["event"], start=h["start"],
            cluster=h["id"],
        )  # fmt: skip
    else:
        s = synth_split()
        x = np.column_stack([s["exposed"], s["risk"] == "HR", s["risk"] == "IR", s["age"]]).astype(
            float
        )
        fit = cox_fit(x, s["stop"], s["status"], start=s["start"], cluster=s["id"], weights=s["w"])
    ref = expected()["cox"][case]
    assert_r(fit.naive_se, list(ref["naive_se"].values()), "naive se")


# --------------------------------------------------------------------------- Mantel-Byar


def _mantel_byar(case: str) -> Any:
    h, s, j, v = heart(), synth_split(), jasa_split(), veteran()
    if case == "heart":
        return logrank(h["stop"], h["event"], h["transplant"], entry=h["start"])
    if case == "jasa":
        return logrank(j["stop"], j["fustat"], j["exposed"], entry=j["start"])
    if case == "veteran":
        return logrank(v["exit"], v["status"], v["trt"], entry=v["entry"])
    if case == "neartie":
        nt = neartie()
        return logrank(nt["stop"], nt["event"], nt["x"], entry=nt["start"])
    group = s["risk"] if case == "synth_risk" else s["exposed"]
    strata = s["sex"] if case == "synth_strata" else None
    return logrank(s["stop"], s["status"], group, entry=s["start"], strata=strata)


@pytest.mark.parametrize("case", sorted(expected()["mantel_byar"]))
def test_mantel_byar_is_the_coxph_score_test(case: str) -> None:
    res = _mantel_byar(case)
    ref = expected()["mantel_byar"][case]
    assert_r(res.statistic, ref["statistic"], "statistic")
    assert res.dof == ref["df"]
    assert_r(res.p_value, ref["p_value"], "p")


def test_start_and_stop_are_tied_jointly(monkeypatch: pytest.MonkeyPatch) -> None:
    # Some starts lie a rounding error below another row's event time; tied jointly
    # (aeqSurv) the start equals the event time and the row is not at risk then.
    nt = neartie()
    start, stop = nt["start"].to_numpy(), nt["stop"].to_numpy()
    events = stop[nt["event"].to_numpy() == 1]
    below = (events[None, :] - start[:, None] > 0) & (events[None, :] - start[:, None] < 1e-12)
    assert below.any()
    ref = expected()["cox"]["neartie"]
    joint = cox(nt, "stop", "event", ["x"], start="start", cluster="id")
    assert_r(np.log(num(joint.loc["x", "hr"])), ref["coef"]["x"], "joint")
    # each column fixed on its own: those rows stay at risk, and the fit moves away
    monkeypatch.setattr(tdc_module, "timefix", lambda *cols: tuple(timefix(c)[0] for c in cols))
    apart = cox(nt, "stop", "event", ["x"], start="start", cluster="id")
    assert abs(np.log(num(apart.loc["x", "hr"])) / ref["coef"]["x"] - 1) > 1e-3


def test_mantel_byar_differs_from_the_naive_log_rank_on_heart() -> None:
    # the naive comparison treats transplant as known from the start (immortal time)
    h = heart()
    first = h.groupby("id").agg(
        stop=("stop", "max"), event=("event", "max"), tx=("transplant", "max")
    )
    naive = logrank(first["stop"], first["event"], first["tx"])
    mb = _mantel_byar("heart")
    assert naive.statistic > 10 * mb.statistic


# --------------------------------------------------------------------------- by hand


def test_km_with_delayed_entry_by_hand() -> None:
    # rows (entry, exit]: (0,2] death, (2.5,3] death, (0,4] censored.
    # t=2: at risk the two rows entered at 0 -> S = 1/2, Greenwood 1/(2*1) = 1/2.
    # t=3: at risk (2.5,3] and (0,4] -> S = 1/4, Greenwood 1/2 + 1/2 = 1.
    km = kaplan_meier([2, 3, 4], [1, 1, 0], entry=[0, 2.5, 0], conf_type="log")
    assert km["n_at_risk"].tolist() == [2.0, 2.0, 1.0]
    assert km["survival"].tolist() == [0.5, 0.25, 0.25]
    np.testing.assert_allclose(km.attrs["std_err"], [math.sqrt(0.5), 1.0, 1.0], rtol=1e-12)
    # without the delayed entry the second row would be at risk at t=2: S(2) = 2/3
    assert kaplan_meier([2, 3, 4], [1, 1, 0])["survival"].iloc[0] == pytest.approx(2 / 3)


def test_counting_process_cox_by_hand() -> None:
    # Rows (start, stop] with exposure x: patient A (0,1] x=1 death; patient B unexposed
    # (0,1.5] then exposed (1.5,4] censored; patient C (0,2] x=0 death.
    # t=1: risk set A (x=1), B's first row and C (x=0): the death is exposed.
    # t=2: risk set B's second row (x=1) and C (x=0): the death is unexposed.
    # L(b) = e^b/(e^b + 2) * 1/(e^b + 1); score 0 when u = e^b solves
    # (u + 2)(u + 1) = u(u + 1) + u(u + 2), i.e. u^2 = 2: b = log(2) / 2.
    # Information: p1 (1 - p1) + p2 (1 - p2), p1 = u/(u + 2), p2 = u/(u + 1).
    fit = cox_fit(
        [[1], [0], [1], [0]], [1, 1.5, 4, 2], [1, 0, 0, 1], start=[0, 0, 1.5, 0],
        cluster=["A", "B", "B", "C"],
    )  # fmt: skip
    u = math.sqrt(2)
    p1, p2 = u / (u + 2), u / (u + 1)
    assert fit.coef[0] == pytest.approx(math.log(2) / 2, rel=1e-9)
    assert fit.naive_se[0] == pytest.approx(1 / math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)), rel=1e-9)
    # ignoring the late entry (B exposed from 0) changes the answer
    naive = cox_fit([[1], [1], [0]], [1, 4, 2], [1, 0, 1])
    assert abs(naive.coef[0] - fit.coef[0]) > 0.1


def test_mantel_byar_by_hand() -> None:
    # Rows: (0,2] g0 censored, (0,2] g0 then (2,5] g1 death (one patient exposed at 2),
    # (0,3] g0 death, (0,4] g0 death.
    # t=3: at risk g1 1 of 3, one death in g0: E1 = 1/3, V = 1/3 * 2/3.
    # t=4: g1 1 of 2, death in g0: E1 = 1/2, V = 1/4.   t=5: g1 alone: E1 = 1, V = 0.
    # O1 - E1 = 1 - 11/6 = -5/6; V = 17/36; statistic (25/36) / (17/36) = 25/17.
    res = logrank([2, 2, 5, 3, 4], [0, 0, 1, 1, 1], [0, 0, 1, 0, 0], entry=[0, 0, 2, 0, 0])
    assert res.statistic == pytest.approx(25 / 17, rel=1e-12)
    assert res.dof == 1
    assert res.table.loc["1", "expected"] == pytest.approx(11 / 6, rel=1e-12)
    assert res.table.loc["1", "observed"] == 1


# --------------------------------------------------------------------------- properties


@st.composite
def patients(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(4, 25))
    t = draw(st.lists(st.integers(1, 10), min_size=n, max_size=n))
    e = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    x = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    z = draw(st.lists(st.floats(-2, 2, allow_nan=False), min_size=n, max_size=n))
    cut = draw(st.lists(st.floats(0.05, 0.95), min_size=n, max_size=n))
    frame = pd.DataFrame({"pid": range(n), "t": t, "e": e, "x": x, "z": np.round(z, 2)})
    frame["cut"] = frame["t"] * np.asarray(cut)
    frame.loc[0, "e"] = 1  # at least one event
    return frame


def _same_fit(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a["method"]) == list(b["method"])
    for col in ("hr", "se", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-7, atol=1e-10, equal_nan=True)
    # a p-value is round-off where the (robust) standard error is 0 up to round-off
    # (e.g. everyone dies at the same time)
    real = a["se"].to_numpy() > 1e-8
    np.testing.assert_allclose(a["p_value"][real], b["p_value"][real], rtol=1e-7, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(frame=patients())
def test_splitting_every_patient_leaves_cox_unchanged(frame: pd.DataFrame) -> None:
    plain = cox(frame, "t", "e", ["x", "z"], cluster="pid", firth=False)
    # a diverging (monotone) fit stops wherever iteration 20 leaves it
    assume(plain["hr"].dropna().between(1e-3, 1e3).all())
    rows = split_at(frame, id="pid", duration="t", event="e", at="cut")
    assert len(rows) == 2 * len(frame)
    split = cox(rows, "stop", "e", ["x", "z"], start="start", cluster="pid", firth=False)
    _same_fit(plain, split)


@settings(max_examples=15, deadline=None)
@given(frame=patients())
def test_splitting_leaves_firths_fit_unchanged(frame: pd.DataFrame) -> None:
    # Firth's penalised likelihood (coxphf) on (start, stop] rows: the same risk sets
    assume(frame["x"].nunique() == 2)
    plain = cox(frame, "t", "e", ["x"], firth=True)
    rows = split_at(frame, id="pid", duration="t", event="e", at="cut")
    split = cox(rows, "stop", "e", ["x"], start="start", firth=True)
    _same_fit(plain, split)  # the same method too (not estimable without information)
    if plain.loc["x", "method"] == "firth":  # profile likelihood p-value
        np.testing.assert_allclose(split["p_value"], plain["p_value"], rtol=1e-6)


def test_monotone_counting_process_fit_switches_to_firth() -> None:
    # no event while exposed: the ordinary estimate runs off to minus infinity
    frame = pd.DataFrame(
        {"pid": range(8), "t": [2.0, 3, 4, 5, 6, 7, 8, 9], "e": [1, 1, 1, 0, 1, 0, 0, 0],
         "at": [np.nan, np.nan, 4.5, 1.0, np.nan, 2.0, 1.0, 4.0]}
    )  # fmt: skip
    rows = split_at(frame, id="pid", duration="t", event="e", at="at")
    assert rows.loc[rows["exposed"] == 1, "e"].sum() == 0
    table = cox(rows, "stop", "e", ["exposed"], start="start")
    assert table.loc["exposed", "method"] == "firth"
    assert 0 < num(table.loc["exposed", "hr"]) < 1 and np.isfinite(
        num(table.loc["exposed", "ci_upper"])
    )
    weighted = cox(rows.assign(w=1.5), "stop", "e", ["exposed"], start="start", weights="w")
    assert weighted.loc["exposed", "method"] == "not estimable"


@settings(max_examples=40, deadline=None)
@given(frame=patients())
def test_an_exposure_that_never_changes_reproduces_the_unsplit_fit(frame: pd.DataFrame) -> None:
    plain = cox(frame, "t", "e", ["x", "z"], firth=False)
    assume(plain["hr"].dropna().between(1e-3, 1e3).all())  # not a diverging fit
    never = split_at(frame.assign(cut=np.nan), id="pid", duration="t", event="e", at="cut")
    assert (never["exposed"] == 0).all() and len(never) == len(frame)
    _same_fit(plain, cox(never, "stop", "e", ["x", "z"], start="start", firth=False))
    always = split_at(frame.assign(cut=0.0), id="pid", duration="t", event="e", at="cut")
    assert (always["exposed"] == 1).all()
    _same_fit(plain, cox(always, "stop", "e", ["x", "z"], start="start", firth=False))


@settings(max_examples=40, deadline=None)
@given(frame=patients())
def test_splitting_leaves_the_km_curve_unchanged(frame: pd.DataFrame) -> None:
    plain = kaplan_meier(frame["t"], frame["e"])
    rows = split_at(frame, id="pid", duration="t", event="e", at="cut")
    split = kaplan_meier(rows["stop"], rows["e"], entry=rows["start"])
    for t in plain["time"]:
        a, b = survival_at(plain, t), survival_at(split, t)
        assert b.survival == pytest.approx(a.survival, rel=1e-12)
        assert b.std_err == pytest.approx(a.std_err, rel=1e-9, abs=1e-12, nan_ok=True)
        assert b.n_at_risk == a.n_at_risk


@settings(max_examples=40, deadline=None)
@given(frame=patients(), weighted=st.booleans())
def test_entry_zero_is_the_plain_km(frame: pd.DataFrame, weighted: bool) -> None:
    w = np.linspace(0.3, 2.1, len(frame)) if weighted else None
    plain = kaplan_meier(frame["t"], frame["e"], weights=w)
    zero = kaplan_meier(frame["t"], frame["e"], weights=w, entry=np.zeros(len(frame)))
    for col in KM_FIELDS:
        np.testing.assert_allclose(zero[col], plain[col], rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(zero.attrs["std_err"], plain.attrs["std_err"], rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(frame=patients())
def test_mantel_byar_without_time_dependence_is_the_efron_score_test(frame: pd.DataFrame) -> None:
    # a fixed group, everyone entering at 0: the score test of coxph on the patients
    assume(frame["x"].nunique() == 2)
    res = logrank(frame["t"], frame["e"], frame["x"], entry=np.zeros(len(frame)))
    if res.dof == 1:
        # without tied event times the Efron score test is the log-rank test
        if not frame.loc[frame["e"] == 1, "t"].duplicated().any():
            plain = logrank(frame["t"], frame["e"], frame["x"])
            assert res.statistic == pytest.approx(plain.statistic, rel=1e-9, abs=1e-12)
        split = split_at(frame, id="pid", duration="t", event="e", at="cut")
        again = logrank(split["stop"], split["e"], split["x"], entry=split["start"])
        assert again.statistic == pytest.approx(res.statistic, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- messages


def _no_numpy_repr(message: str) -> None:
    assert "np." not in message and "array(" not in message


def test_entry_after_exit_names_the_patient() -> None:
    t = pd.Series([5.0, 3.0, 4.0], index=["P1", "P2", "P3"])
    entry = pd.Series([0.0, 3.5, 0.0], index=t.index)
    with pytest.raises(InputError, match=r"patient 'P2' \(entry 3.5, durations 3\)") as err:
        kaplan_meier(t, [1, 0, 1], entry=entry)
    _no_numpy_repr(str(err.value))
    with pytest.raises(InputError, match=r"not at entry 2 \(entry 3.5, durations 3\)"):
        kaplan_meier([5, 3, 4], [1, 0, 1], entry=[0, 3.5, 0])
    with pytest.raises(InputError, match=r"patient 'P2'"):
        logrank(t, [1, 0, 1], [0, 1, 1], entry=entry)


def test_start_not_before_stop_names_the_patient() -> None:
    frame = pd.DataFrame(
        {"start": [0.0, 2.0, 1.0], "stop": [3.0, 2.0, 4.0], "e": [1, 0, 1], "x": [0, 1, 1]},
        index=["a", "b", "c"],
    )
    with pytest.raises(
        InputError, match=r"start must be less than durations.*patient 'b' \(start 2, durations 2\)"
    ) as err:
        cox(frame, "stop", "e", ["x"], start="start")
    _no_numpy_repr(str(err.value))
    with pytest.raises(InputError, match=r"entry 2 \(start 2, durations 2\)"):
        cox_fit([0, 1, 1], [3.0, 2.0, 4.0], [1, 0, 1], start=[0.0, 2.0, 1.0])
    with pytest.raises(InputError, match=r"start has negative times at entry 1 \(-1\)"):
        cox_fit([0, 1, 1], [3.0, 2.0, 4.0], [1, 0, 1], start=[-1.0, 0.0, 1.0])
    # an interval of rounding-noise length is one R's aeqSurv refuses
    with pytest.raises(InputError, match=r"longer than rounding noise.*entry 2"):
        cox_fit([0, 1, 1], [3.0, 2.0, 4.0], [1, 0, 1], start=[0.0, 2.0 - 1e-12, 1.0])
    with pytest.raises(InputError, match="needs a cluster"):
        cox(frame.assign(start=[0.0, 1.0, 1.0]), "stop", "e", ["x"], start="start", robust=True)


def test_bad_exposure_times_name_the_patient() -> None:
    frame = pd.DataFrame(
        {"pid": [1, 2, 3], "t": [5.0, 4.0, 6.0], "e": [1, 0, 1], "at": [1.0, "soon", None]},
        index=["P1", "P2", "P3"],
    )
    with pytest.raises(
        InputError, match=r"at column 'at' must be numeric.*patient 'P2' \('soon'\)"
    ) as err:
        split_at(frame, id="pid", duration="t", event="e", at="at")
    _no_numpy_repr(str(err.value))
    with pytest.raises(InputError, match=r"infinite values.*patient 'P1' \(inf\)"):
        split_at(frame.assign(at=[np.inf, 1.0, 2.0]), id="pid", duration="t", event="e", at="at")
    with pytest.raises(InputError, match=r"must be > 0.*patient 'P2' \(0\)"):
        split_at(
            frame.assign(at=1.0, t=[5.0, 0.0, 6.0]), id="pid", duration="t", event="e", at="at"
        )
    with pytest.raises(InputError, match=r"repeated at patient 'P1' \(1\), patient 'P3' \(1\)"):
        split_at(frame.assign(at=1.0, pid=[1, 2, 1]), id="pid", duration="t", event="e", at="at")
    with pytest.raises(InputError, match=r"already has 'start'"):
        split_at(frame.assign(at=1.0, start=0), id="pid", duration="t", event="e", at="at")
    with pytest.raises(InputError, match=r"entry 3 \(2\)"):
        split_at(
            frame.reset_index(drop=True).assign(at=1.0, e=[1, 0, 2]),
            id="pid", duration="t", event="e", at="at",
        )  # fmt: skip


def _no_information_by_brute_force(
    x: np.ndarray, stop: np.ndarray, event: np.ndarray, start: np.ndarray
) -> np.ndarray:
    """A column is uninformative when it is constant in every risk set with a death."""
    varies = np.zeros(x.shape[1], dtype=bool)
    for d in np.unique(stop[event > 0]):
        at = (start < d) & (stop >= d)
        varies |= x[at].max(axis=0) > x[at].min(axis=0)
    return ~varies


@settings(max_examples=150)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 4),  # start
            st.integers(1, 4),  # length
            st.booleans(),  # event
            st.integers(0, 1),  # binary covariate
            st.sampled_from([0.0, 1e-9, 2.5, -3.0]),  # values, one of them tiny
        ),
        min_size=2,
        max_size=25,
    )
)
def test_the_no_information_check_of_interval_rows_equals_brute_force(
    rows: list[tuple[int, int, bool, int, float]],
) -> None:
    start = np.array([r[0] for r in rows], dtype=float)
    stop = start + np.array([r[1] for r in rows], dtype=float)
    event = np.array([r[2] for r in rows], dtype=float)
    assume(event.any())
    x = np.column_stack(
        [
            [float(r[3]) for r in rows],
            [r[4] for r in rows],
            (stop > 5).astype(float),  # exposed only late: often no information
        ]
    )
    strata = np.zeros(len(rows), dtype=np.int64)
    found = coxph_module._no_information_intervals(x, stop, event, strata, start)
    np.testing.assert_array_equal(found, _no_information_by_brute_force(x, stop, event, start))
