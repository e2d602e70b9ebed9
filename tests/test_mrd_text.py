"""MRD as laboratories write it: parsing, below-limit results, units, classification."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinastudy.analysis import derive_columns
from blinastudy.analysis.settings import Settings
from blinastudy.core.errors import InputError
from blinastudy.data.mapping import Mapping, map_cohort, review_mapping
from blinastudy.data.mrd_text import (
    MRD_BELOW_COLUMNS,
    MrdCell,
    MrdReading,
    fraction_to_percent,
    mrd_class,
    mrd_reading,
    read_mrd_cell,
)

NAN = math.nan


@pytest.mark.parametrize(
    ("cell", "unit", "expected"),
    [
        ("neg", "percent", MrdReading(None, 0.01)),
        ("negative", "percent", MrdReading(None, 0.01)),
        ("Not detected", "percent", MrdReading(None, 0.01)),
        ("MRD-negative", "fraction", MrdReading(None, 0.01)),
        ("<0.01", "percent", MrdReading(None, 0.01)),
        ("< 0.01 %", "fraction", MrdReading(None, 0.01)),  # the cell's % wins
        ("<0.0001", "fraction", MrdReading(None, 0.01)),
        ("0.01%", "fraction", MrdReading(0.01, None)),
        ("0.05", "percent", MrdReading(0.05, None)),
        ("0.0005", "fraction", MrdReading(0.05, None)),
        ("1e-4", "percent", MrdReading(0.0001, None)),  # plain number: the column's unit
        ("1e-4", "fraction", MrdReading(0.01, None)),
        ("1x10-4", "percent", MrdReading(0.01, None)),  # a power of ten is a fraction
        ("1x10^-4", "percent", MrdReading(0.01, None)),
        ("1 × 10⁻⁴", "percent", MrdReading(0.01, None)),
        ("2.5x10^-3", "percent", MrdReading(0.25, None)),
        ("10^-4", "percent", MrdReading(0.01, None)),
        ("<10^-4", "percent", MrdReading(None, 0.01)),
        ("<1x10-5", "percent", MrdReading(None, 0.001)),
        (0.07, "fraction", MrdReading(7.0, None)),
        (0, "percent", MrdReading(0.0, None)),
    ],
)
def test_laboratory_spellings(cell: Any, unit: Any, expected: MrdReading) -> None:
    parsed = read_mrd_cell(cell)
    assert parsed is not None
    assert mrd_reading(parsed, unit, 0.01) == expected


@pytest.mark.parametrize(
    ("cell", "fragment"),
    [
        ("pos", "gives no value"),
        ("positive", "gives no value"),
        ("<=0.01", "write '<' and the detection limit"),
        ("≤0.01", "is a bound, not a value"),
        (">5", "is a bound, not a value"),
        ("10-4", "write a power of ten as 10^-4"),
        ("n.d.", "not an MRD result I can read"),
        ("0,01", "has a comma"),
        ("high", "not an MRD result I can read"),
    ],
)
def test_unreadable_mrd_cells(cell: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        read_mrd_cell(cell)
    assert fragment in str(info.value)


def test_decimal_comma_missing_and_negative_without_limit() -> None:
    assert read_mrd_cell("0,01", decimal_comma=True) == MrdCell("value", 0.01, None)
    assert read_mrd_cell("<0,01", decimal_comma=True) == MrdCell("below", 0.01, None)
    assert read_mrd_cell(" ") is None and read_mrd_cell(None) is None
    with pytest.raises(ValueError, match="needs the assay's detection limit"):
        mrd_reading(MrdCell("negative", None, None), "percent")
    with pytest.raises(ValueError, match="above 0"):
        mrd_reading(MrdCell("below", 0.0, None), "percent")


def test_fraction_to_percent_keeps_the_written_decimal() -> None:
    assert 0.07 * 100 == 7.000000000000001  # why plain arithmetic is not used
    assert fraction_to_percent(0.07) == 7.0
    assert fraction_to_percent(0.0001) == 0.01
    assert fraction_to_percent(1.0) == 100.0


@settings(max_examples=300, deadline=None)
@given(digits=st.integers(1, 999_999), scale=st.integers(2, 8))
def test_fraction_to_percent_is_the_nearest_double(digits: int, scale: int) -> None:
    from decimal import Decimal

    text = f"{Decimal(digits).scaleb(-scale)}"
    assert fraction_to_percent(float(text)) == float(Decimal(text) * 100)


# --------------------------------------------------------------------------------------
# Classification against a threshold
# --------------------------------------------------------------------------------------


def test_mrd_class_by_hand() -> None:
    values = [0.5, 0.1, 0.099, NAN, NAN, NAN, NAN]
    limits = [NAN, NAN, NAN, 0.01, 0.1, 0.5, NAN]
    assert mrd_class(values, limits, 0.1).tolist() == [
        "high",  # 0.5 >= 0.1
        "high",  # at the threshold: high, as the analysis groups MRD
        "low",
        "low",  # below 0.01 < 0.1
        "low",  # below 0.1: under the threshold
        "undetermined",  # below 0.5: could be either side of 0.1
        "missing",
    ]
    series = mrd_class(pd.Series(values), pd.Series(limits), 0.01)
    assert series.tolist()[3:6] == ["low", "undetermined", "undetermined"]


def test_mrd_class_errors() -> None:
    with pytest.raises(InputError, match="entry 2 has both a value and a detection limit"):
        mrd_class([0.1, 0.2], [NAN, 0.01], 0.1)
    with pytest.raises(InputError, match="differ in length"):
        mrd_class([0.1], [NAN, NAN], 0.1)
    with pytest.raises(InputError, match="threshold must be a positive number"):
        mrd_class([0.1], [NAN], 0)
    with pytest.raises(InputError, match="must be numbers"):
        mrd_class(["a"], [NAN], 0.1)  # type: ignore[list-item]


values_st = st.floats(0, 100, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    limit=st.floats(1e-4, 10, allow_nan=False),
    fraction=st.floats(0, 1, exclude_max=True, allow_nan=False),
    threshold=st.floats(1e-4, 20, allow_nan=False),
)
def test_below_limit_is_low_only_when_every_value_under_the_limit_is_low(
    limit: float, fraction: float, threshold: float
) -> None:
    # a result "< limit" is any true value in [0, limit): its class must be that of every
    # such value when they all agree (low), and undetermined when they may differ
    below = mrd_class([NAN], [limit], threshold)[0]
    true_value = fraction * limit
    classes = {mrd_class([v], [NAN], threshold)[0] for v in (0.0, true_value)}
    if limit <= threshold:
        assert below == "low" and classes == {"low"}
    else:
        assert below == "undetermined"
        # values just under the limit are high for this threshold: both sides are possible
        assert mrd_class([np.nextafter(limit, 0)], [NAN], threshold)[0] == "high"


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(values_st, st.just(NAN)), min_size=1, max_size=20),
    t1=st.floats(1e-4, 50, allow_nan=False),
    t2=st.floats(1e-4, 50, allow_nan=False),
)
def test_raising_the_threshold_never_turns_low_into_high(
    values: list[float], t1: float, t2: float
) -> None:
    lo, hi = sorted((t1, t2))
    limits = [v if i % 2 else NAN for i, v in enumerate(values)]
    vals = [NAN if i % 2 else v for i, v in enumerate(values)]
    at_lo, at_hi = mrd_class(vals, limits, lo), mrd_class(vals, limits, hi)
    for a, b in zip(at_lo, at_hi, strict=True):
        assert not (a == "low" and b in ("high", "undetermined"))
        assert (a == "missing") == (b == "missing")


# --------------------------------------------------------------------------------------
# In a mapping
# --------------------------------------------------------------------------------------


def mrd_frame(header: str, cells: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({header: pd.Series(cells, dtype=object)})


def test_mapping_reads_laboratory_text_into_value_and_limit_columns() -> None:
    raw = mrd_frame("MRD d33", ["neg", "<0.01", "0.02", "1x10^-4", "", "0.3"])
    m = Mapping(
        columns={"MRD d33": "mrd_eoi_pct"},
        mrd_units={"mrd_eoi_pct": "percent"},
        mrd_limits={"mrd_eoi_pct": 0.01},
    )
    out, problems = map_cohort(raw, m)
    assert problems == []
    assert out["mrd_eoi_pct"].tolist() == [None, None, "0.02", 0.01, "", "0.3"]
    below = out[MRD_BELOW_COLUMNS["mrd_eoi_pct"]].tolist()
    assert below[:2] == [0.01, 0.01] and all(math.isnan(b) for b in below[2:])
    # the analysis reads the limit column too: never the limit as a value (which would
    # be 'MRD >= 0.01%' at a 0.01 threshold)
    from blinastudy.data.schema import check_cohort

    typed, _ = check_cohort(out.assign(patient_id=list("abcdef")))
    groups = derive_columns(typed, Settings())["mrd_group"].tolist()
    # below a detection limit at or under the 0.1 % threshold: low, not missing
    assert groups[:2] == ["MRD < 0.1%", "MRD < 0.1%"]
    # at a 0.01 % threshold the limit 0.01 % still says low; at 0.005 % it is undetermined
    s = Settings().update(mrd__threshold_pct=0.01)
    assert derive_columns(typed, s)["mrd_group"].tolist()[:2] == ["MRD < 0.01%"] * 2
    s = Settings().update(mrd__threshold_pct=0.005)
    assert derive_columns(typed, s)["mrd_group"].tolist()[:2] == ["MRD undetermined"] * 2


def test_unit_is_a_question_when_every_value_is_at_most_one() -> None:
    raw = mrd_frame("MRD d33", ["0.05", "<0.01", "neg"])
    m = Mapping(columns={"MRD d33": "mrd_eoi_pct"})
    _, problems = map_cohort(raw, m)
    assert [str(p) for p in problems] == [
        "column 'MRD d33': every value of 'MRD d33' (mrd_eoi_pct) is <= 1 and neither the header"
        " nor the cells say '%': '0.05' (row 2) is 0.05 % (percent) or 5 % (fraction); say"
        " which unit the column uses",
        "column 'MRD d33': 'MRD d33' (mrd_eoi_pct) says 'neg' (row 4) without the detection"
        " limit; give the assay's limit in percent (0.01 for 10^-4)",
    ]
    review = review_mapping(raw, m)
    assert [(a.kind, a.options, a.readings) for a in review.ambiguities] == [
        ("mrd_unit", ("percent", "fraction"), ("0.05 %", "5 %")),
        ("mrd_limit", (), ()),
    ]
    answered = m.with_mrd_unit("mrd_eoi_pct", "fraction").with_mrd_limit("mrd_eoi_pct", 0.01)
    out, problems = map_cohort(raw, answered)
    assert problems == []
    assert out["mrd_eoi_pct"].tolist() == [5.0, None, None]
    below = out["mrd_eoi_below"].tolist()
    assert math.isnan(below[0]) and below[1:] == [1.0, 0.01]  # '<0.01' as a fraction: < 1 %


@pytest.mark.parametrize(
    ("header", "cells"),
    [
        ("MRD d33 (%)", ["0.05", "0.5"]),  # the header says percent
        ("MRD d33 fraction", ["0.0005", "0.005"]),  # the header says fraction
        ("mrd_eoi_pct", ["0.05"]),  # the canonical name says percent
        ("MRD d33", ["0.05", "3.2"]),  # a value above 1 cannot be a fraction
        ("MRD d33", ["0.05%", "1x10^-4"]),  # every cell states its unit
    ],
)
def test_no_unit_question_when_the_unit_is_known(header: str, cells: list[str]) -> None:
    raw = mrd_frame(header, cells)
    m = Mapping(columns={} if header == "mrd_eoi_pct" else {header: "mrd_eoi_pct"})
    assert review_mapping(raw, m, needs_arm=False).ambiguities == ()


def test_unreadable_mrd_cells_are_row_problems_and_companion_clash() -> None:
    raw = pd.DataFrame(
        {"MRD d33 (%)": ["pos", "0.1", "<0.01"], "mrd_eoi_below": ["x", "y", "z"]}, dtype=object
    )
    _, problems = map_cohort(raw, Mapping(columns={"MRD d33 (%)": "mrd_eoi_pct"}))
    assert [str(p) for p in problems] == [
        "column 'mrd_eoi_below': the file has a column named 'mrd_eoi_below', which holds the"
        " detection limit of below-limit mrd_eoi_pct results; rename it",
        "row 2, column 'mrd_eoi_pct', value 'pos': 'pos' gives no value; write the MRD level",
    ]
