"""Fuzzing the public analysis functions with hostile but well-formed input.

Random small cohorts in the canonical schema (one patient, all censored, all events,
one arm, ties everywhere, constant covariates, perfect separation, no control within
the caliper, NaN/inf/huge covariates, unicode everywhere) go through
:func:`blinastudy.analysis.analyze`; random arrays go through the statistical
building blocks. The outcome is always a result or an :class:`InputError` with a
message: never another exception, and never a ``RuntimeWarning`` from numpy (warnings
are errors inside these tests).

Files with too many rows or columns are refused quickly by :func:`load_cohort`.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blinastudy.analysis import analyze
from blinastudy.analysis.settings import Settings
from blinastudy.core.errors import InputError
from blinastudy.data.cohort import CohortError, Limits, load_cohort
from blinastudy.stats.balance import balance
from blinastudy.stats.matching import match
from blinastudy.stats.subgroups import forest
from blinastudy.stats.survival import cox, kaplan_meier, logrank

T = TypeVar("T")

# Sized for CI: 250 examples in all.
FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ARMS = ("blinatumomab", "chemotherapy")
CATEGORIES = {
    "sex": ["M", "F"],
    "cns_status": ["CNS1", "CNS2", "CNS3"],
    "genetic_subtype": ["B-other", "ETV6-RUNX1", "high-hyperdiploid", "KMT2A-r"],
    "risk_group": ["LR", "IR", "HR"],
    "prednisone_response": ["good", "poor"],
}
NUMBERS = ["age_years", "wbc_10e9_l", "mrd_eoi_pct", "mrd_day15_pct"]

unicode_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12
).filter(lambda s: s.strip() != "")

hostile_float = st.one_of(
    st.floats(min_value=0, max_value=100),
    st.just(float("nan")),
    st.just(float("inf")),
    st.just(-float("inf")),
    st.just(1e308),
    st.just(-1e308),
    st.just(1e-308),
    st.just(0.0),
)


def outcome(call: Callable[[], T]) -> T | InputError:
    """``call()``'s result or its :class:`InputError`; a RuntimeWarning is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            return call()
        except InputError as exc:
            assert str(exc).strip(), "InputError without a message"
            return exc


plain_float = st.one_of(st.floats(min_value=0, max_value=100), st.just(float("nan")))


@st.composite
def cohorts(draw: st.DrawFn) -> pd.DataFrame:
    """A small canonical cohort with one or more hostile features."""
    n = draw(st.integers(min_value=1, max_value=24))
    shape = draw(
        st.sampled_from(
            [
                "random",
                "one_arm",
                "all_censored",
                "all_events",
                "ties",
                "separation",
                "far",
                "hostile_numbers",
            ]
        )
    )
    treated = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if shape == "one_arm":
        treated = [treated[0]] * n
    arms = [ARMS[0] if t else ARMS[1] for t in treated]
    time_values = st.sampled_from([1.0, 2.0]) if shape == "ties" else st.floats(0.01, 120)
    times = draw(st.lists(time_values, min_size=n, max_size=n))
    event_values = {
        "all_censored": st.just(0),
        "all_events": st.just(1),
    }.get(shape, st.integers(0, 1))
    events = draw(st.lists(event_values, min_size=n, max_size=n))
    ids = draw(st.lists(unicode_text, min_size=n, max_size=n, unique_by=lambda s: s.strip()))
    frame = pd.DataFrame(
        {
            "patient_id": ids,
            "arm": arms,
            "efs_months": times,
            "efs_event": events,
            "os_months": [t * 1.5 for t in times],
            "os_event": [min(e, 1) for e in events],
        }
    )
    for col, levels in CATEGORIES.items():
        if draw(st.booleans()):
            # constant within each arm (possibly a different level per arm)
            by_arm = {arm: draw(st.sampled_from(levels)) for arm in ARMS}
            frame[col] = [by_arm[a] for a in arms]
        else:
            frame[col] = draw(st.lists(st.sampled_from(levels), min_size=n, max_size=n))
    numbers = hostile_float if shape == "hostile_numbers" else plain_float
    for col in NUMBERS:
        frame[col] = draw(st.lists(numbers, min_size=n, max_size=n))
    if shape == "separation":
        # the propensity model separates the arms perfectly
        frame["age_years"] = [15.0 if t else 2.0 for t in treated]
    if shape == "far":
        # no control anywhere near a treated patient
        frame["wbc_10e9_l"] = [1e6 if t else 0.1 for t in treated]
        frame["age_years"] = [17.9 if t else 0.1 for t in treated]
    frame["note"] = draw(st.lists(unicode_text, min_size=n, max_size=n))
    return frame


analysis_settings = st.builds(
    lambda caliper, ratio, replace: Settings().update(
        matching__caliper=caliper, matching__ratio=ratio, matching__replace=replace
    ),
    st.sampled_from([None, 0.005, 0.2, 10.0]),
    st.integers(1, 3),
    st.booleans(),
)


@FUZZ
@given(cohort=cohorts(), config=analysis_settings, sweep=st.booleans())
def test_analyze_gives_a_result_or_an_input_error(
    cohort: pd.DataFrame, config: Settings, sweep: bool
) -> None:
    res = outcome(lambda: analyze(cohort, config, sweep=sweep))
    if isinstance(res, InputError):
        return
    assert res.n["blinatumomab"] + res.n["chemotherapy"] == len(cohort)
    if res.match is not None:
        assert res.match.n_pairs <= res.n["blinatumomab"] * config.matching.ratio
    res.numbers()


# --------------------------------------------------------------------------------------
# Building blocks on random arrays
# --------------------------------------------------------------------------------------

any_float = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=50),
    st.sampled_from([0.0, 1.0, 1.0, 2.0]),
)


@st.composite
def arrays(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(min_value=0, max_value=20))
    return {
        "t": draw(st.lists(any_float, min_size=n, max_size=n)),
        "e": draw(st.lists(st.sampled_from([0, 1, 1, 2, -1]), min_size=n, max_size=n)),
        "g": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
        "x": draw(st.lists(any_float, min_size=n, max_size=n)),
        "c": draw(st.lists(st.sampled_from(["a", "b", "ü", "🙂"]), min_size=n, max_size=n)),
    }


def frame_of(a: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({"t": a["t"], "e": a["e"], "g": a["g"], "x": a["x"], "c": a["c"]})


@FUZZ
@given(a=arrays())
def test_kaplan_meier_and_logrank(a: dict[str, Any]) -> None:
    km = outcome(lambda: kaplan_meier(a["t"], a["e"]))
    if not isinstance(km, InputError):
        surv = km["survival"].to_numpy(dtype=float)
        surv = surv[~np.isnan(surv)]
        assert ((surv >= 0) & (surv <= 1)).all()
    outcome(lambda: logrank(a["t"], a["e"], a["g"]))


@FUZZ
@given(a=arrays(), ties=st.sampled_from(["efron", "breslow"]), cat=st.booleans())
def test_cox(a: dict[str, Any], ties: str, cat: bool) -> None:
    covariates = ["g", "c"] if cat else ["g", "x"]
    outcome(lambda: cox(frame_of(a), "t", "e", covariates, ties=ties))  # type: ignore[arg-type]


@FUZZ
@given(
    a=arrays(),
    caliper=st.sampled_from([None, 0.01, 0.2, 1.0]),
    ratio=st.integers(1, 3),
    replace=st.booleans(),
)
def test_match_and_balance(
    a: dict[str, Any], caliper: float | None, ratio: int, replace: bool
) -> None:
    frame = frame_of(a)
    res = outcome(
        lambda: match(
            frame, "g", ["x", "c"], caliper=caliper, ratio=ratio, replace=replace, random_state=1
        )
    )
    matched = None if isinstance(res, InputError) else res
    outcome(lambda: balance(frame, "g", ["x", "c"], matched=matched))


@FUZZ
@given(a=arrays())
def test_forest(a: dict[str, Any]) -> None:
    outcome(lambda: forest(frame_of(a), "t", "e", "g", ["c"]))


# --------------------------------------------------------------------------------------
# Size limits
# --------------------------------------------------------------------------------------


def _named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


@pytest.mark.parametrize("shape", ["rows", "columns"])
def test_too_many_rows_or_columns_are_refused(shape: str) -> None:
    head = "patient_id,arm,efs_months,efs_event,os_months,os_event"
    if shape == "rows":
        rows = 1_000_000
        assert rows > Limits().max_rows
        data = (head + "\n" + "P,blinatumomab,1,0,1,0\n" * rows).encode()
    else:
        cols = 2_000
        assert cols > Limits().max_columns
        extra = ",".join(f"x{i}" for i in range(cols))
        data = f"{head},{extra}\nP1,blinatumomab,1,0,1,0,{','.join(['1'] * cols)}\n".encode()
    with pytest.raises(CohortError) as info:
        load_cohort(_named(data, "big.csv"))
    assert str(info.value).strip()
    assert ("row" if shape == "rows" else "column") in str(info.value).lower()


# --------------------------------------------------------------------------------------
# Regressions found by the fuzzing above
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [float("inf"), -float("inf"), 1e308])
def test_infinite_or_huge_covariates_are_refused_with_a_message(value: float) -> None:
    """They used to overflow inside the propensity model and the baseline table."""
    from blinastudy.data.demo import make_demo_cohort

    cohort = make_demo_cohort().head(120).copy()
    cohort.loc[5, "wbc_10e9_l"] = value
    for call in (
        lambda: analyze(cohort, Settings(), sweep=False),
        lambda: match(cohort.assign(t=cohort["arm"] == "blinatumomab"), "t", ["wbc_10e9_l"]),
        lambda: balance(cohort.assign(t=cohort["arm"] == "blinatumomab"), "t", ["wbc_10e9_l"]),
    ):
        err = outcome(call)
        assert isinstance(err, InputError)
        assert "wbc_10e9_l" in str(err)
