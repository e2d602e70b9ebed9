"""Dates instead of times: reading date cells, deriving EFS/OS, realistic hospital exports."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinastudy import cli
from blinastudy.analysis import cohort_hash
from blinastudy.analysis.settings import Settings
from blinastudy.core.errors import InputError
from blinastudy.data.cohort import (
    combine_cohorts,
    content_hash,
    identifier_reasons,
    load_cohort,
    read_table,
)
from blinastudy.data.dates import (
    DAYS_PER_MONTH,
    AmbiguousDateError,
    DateFormat,
    DateRole,
    Derived,
    StatusCode,
    derive_outcome,
    detect_date_format,
    parse_date,
    readings,
)
from blinastudy.data.mapping import (
    Mapping,
    date_derivation,
    map_cohort,
    review_mapping,
    suggest_mapping,
)
from blinastudy.data.schema import CohortError, Problem

EXPORTS = Path(__file__).resolve().parent / "data" / "exports"
D = dt.date
#: One patient's dates by role, as derive_outcome takes them.
Dates = dict[DateRole, dt.date | None]


# --------------------------------------------------------------------------------------
# Reading date cells
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "fmt", "expected"),
    [
        ("2019-03-04", None, D(2019, 3, 4)),
        (" 2019-3-4 ", None, D(2019, 3, 4)),
        ("2019/03/04", None, D(2019, 3, 4)),
        ("2019-03-04 00:00:00", None, D(2019, 3, 4)),
        ("2019-03-04T00:00", None, D(2019, 3, 4)),
        ("04.03.2019", None, D(2019, 3, 4)),
        ("4.3.2019", None, D(2019, 3, 4)),
        ("04/03/2019", "dd/mm/yyyy", D(2019, 3, 4)),
        ("04/03/2019", "mm/dd/yyyy", D(2019, 4, 3)),
        ("04-03-2019", "dd/mm/yyyy", D(2019, 3, 4)),
        ("4 Mar 2019", None, D(2019, 3, 4)),
        ("04-March-2019", None, D(2019, 3, 4)),
        ("4 Sept 2019", None, D(2019, 9, 4)),
        (43528, None, D(2019, 3, 4)),  # Excel serial number
        (43528.0, None, D(2019, 3, 4)),
        ("43528", None, D(2019, 3, 4)),
        (np.int64(43528), None, D(2019, 3, 4)),
        (dt.datetime(2019, 3, 4), None, D(2019, 3, 4)),  # an Excel date cell
        (D(2019, 3, 4), None, D(2019, 3, 4)),
        (pd.Timestamp("2019-03-04"), None, D(2019, 3, 4)),
        (np.datetime64("2019-03-04"), None, D(2019, 3, 4)),
        (None, None, None),
        ("N/A", None, None),
        (float("nan"), None, None),
    ],
)
def test_accepted_date_cells(cell: Any, fmt: Any, expected: dt.date | None) -> None:
    assert parse_date(cell, fmt) == expected


def test_excel_serials_match_excel() -> None:
    # Excel: =DATE(2020,1,1) is 43831, =DATE(1950,1,1) is 18264, =DATE(2100,12,31) is 73415
    assert parse_date(43831) == D(2020, 1, 1)
    assert parse_date(18264) == D(1950, 1, 1)
    assert parse_date(73415) == D(2100, 12, 31)


@pytest.mark.parametrize(
    ("cell", "fmt", "fragment"),
    [
        ("31/02/2019", "dd/mm/yyyy", "not a real calendar date"),
        ("2019-02-29", None, "not a real calendar date"),
        ("13/25/2019", "dd/mm/yyyy", "does not fit the column's format dd/mm/yyyy"),
        ("25/03/2019", "mm/dd/yyyy", "does not fit the column's format mm/dd/yyyy"),
        ("2019-03-04 14:30", None, "has a time of day"),
        (dt.datetime(2019, 3, 4, 14, 30), None, "has a time of day (14:30)"),
        (dt.time(14, 30), None, "is a time of day, not a date"),
        ("04/03/19", None, "two-digit year"),
        ("4-Mar-19", None, "two-digit year"),
        (2019, None, "looks like a year alone"),
        (12, None, "not an Excel date serial of 1950 to 2100"),
        (43528.5, None, "not a whole number"),
        (True, None, "true/false"),
        ("March 2019", None, "not a date in an accepted format"),
        ("soon", None, "not a date in an accepted format"),
    ],
)
def test_rejected_date_cells(cell: Any, fmt: Any, fragment: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        parse_date(cell, fmt)
    assert fragment in str(info.value)


def test_day_month_cell_needs_the_columns_format() -> None:
    with pytest.raises(AmbiguousDateError):
        parse_date("04/03/2019")
    assert readings("04/03/2019") == ("4 March 2019", "3 April 2019")
    assert readings("13/03/2019") == ("13 March 2019", "not a date")


def test_detect_date_format() -> None:
    assert detect_date_format(["2019-03-04", "04.03.2019", 43528]).status == "none"
    e = detect_date_format(["02/03/2019", "25/03/2019", None])
    assert (e.status, e.fmt, e.day_first) == ("fixed", "dd/mm/yyyy", (1, "25/03/2019"))
    e = detect_date_format(["02/03/2019", "03/25/2019"])
    assert (e.status, e.fmt) == ("fixed", "mm/dd/yyyy")
    e = detect_date_format(["05/05/2019", "02/03/2019"])
    assert (e.status, e.two_readings) == ("ambiguous", (1, "02/03/2019"))
    assert detect_date_format(["05/05/2019", "12/12/2020"]).status == "none"  # same day
    assert detect_date_format(["13/01/2020", "01/13/2020"]).status == "conflict"


# --------------------------------------------------------------------------------------
# Deriving times: the rules, by hand
# --------------------------------------------------------------------------------------


def test_months_are_days_over_365_25_twelfths() -> None:
    d, issues = derive_outcome(
        {"diagnosis": D(2019, 1, 1), "relapse": D(2019, 7, 1), "last_contact": D(2020, 1, 1)}
    )
    assert issues == ()
    # 1 Jan -> 1 Jul 2019: 31 + 28 + 31 + 30 + 31 + 30 = 181 days; to 1 Jan 2020: 365 days
    assert d.efs_months == 181 / (365.25 / 12) and d.efs_event == 1
    assert d.os_months == 365 / (365.25 / 12) and d.os_event == 0
    assert (d.event_type, d.efs_end_reason, d.os_end_reason) == (
        "relapse",
        "relapse",
        "last contact",
    )
    assert DAYS_PER_MONTH == 30.4375


def test_first_event_wins_and_ties_break_in_a_fixed_order() -> None:
    base: Dates = {"diagnosis": D(2019, 1, 1), "last_contact": D(2021, 1, 1)}
    d, _ = derive_outcome({**base, "relapse": D(2020, 5, 1), "second_malignancy": D(2020, 3, 1)})
    assert d.event_type == "second-malignancy" and d.efs_end == D(2020, 3, 1)
    same = D(2020, 2, 2)
    d, _ = derive_outcome(
        {"diagnosis": D(2019, 1, 1), "relapse": same, "death": same, "last_contact": same}
    )
    assert (d.event_type, d.efs_event, d.os_event) == ("relapse", 1, 1)
    d, _ = derive_outcome({**base, "induction_failure": D(2019, 2, 14), "relapse": D(2019, 2, 14)})
    assert d.event_type == "induction-failure"
    d, _ = derive_outcome({"diagnosis": D(2019, 1, 1), "death": D(2019, 4, 1)})
    assert (d.event_type, d.efs_months, d.os_months) == (
        "death-in-remission",
        90 / 30.4375,
        90 / 30.4375,
    )


def test_cutoff_censors_later_events_and_follow_up() -> None:
    dates: Dates = {
        "diagnosis": D(2019, 1, 1),
        "relapse": D(2020, 1, 1),
        "death": D(2021, 1, 1),
        "last_contact": D(2021, 1, 1),
    }
    d, _ = derive_outcome(dates, cutoff=D(2020, 6, 30))
    # relapse counts; the death is after the cut-off: OS is censored at the cut-off
    assert (d.efs_event, d.os_event, d.os_end, d.os_end_reason) == (1, 0, D(2020, 6, 30), "cut-off")
    assert d.os_months == 546 / 30.4375  # 365 (2019) + 181 (1 Jan -> 30 Jun 2020, leap year)
    assert d.notes == (
        "death 1 January 2021 is after the cut-off 30 June 2020: ignored",
        "last contact 1 January 2021 is after the cut-off 30 June 2020: follow-up ends at the"
        " cut-off",
    )
    d, _ = derive_outcome(dates, cutoff=D(2019, 10, 1))
    assert (d.efs_event, d.efs_end, d.os_end) == (0, D(2019, 10, 1), D(2019, 10, 1))
    # an event after the cut-off proves follow-up to the cut-off, even without a last contact
    d, issues = derive_outcome(
        {"diagnosis": D(2019, 1, 1), "death": D(2021, 1, 1)}, cutoff=D(2020, 1, 1)
    )
    assert issues == () and d.os_end == D(2020, 1, 1) and d.efs_end == D(2020, 1, 1)
    # a cut-off after every date changes nothing
    assert (
        derive_outcome(dates, cutoff=D(2030, 1, 1))[0].os_months
        == derive_outcome(dates)[0].os_months
    )


@pytest.mark.parametrize(
    ("dates", "cutoff", "expected"),
    [
        (
            {"diagnosis": D(2019, 6, 1), "relapse": D(2019, 5, 2), "last_contact": D(2020, 1, 1)},
            None,
            [("relapse", "relapse 2 May 2019 is before diagnosis 1 June 2019")],
        ),
        (
            {"diagnosis": D(2019, 6, 1), "death": D(2019, 5, 2)},
            None,
            [("death", "death 2 May 2019 is before diagnosis 1 June 2019")],
        ),
        (
            {
                "diagnosis": D(2019, 1, 1),
                "relapse": D(2020, 5, 2),
                "death": D(2020, 3, 1),
                "last_contact": D(2020, 5, 2),
            },
            None,
            [
                ("death", "death 1 March 2020 is before relapse 2 May 2020"),
                ("last_contact", "last contact 2 May 2020 is after death 1 March 2020"),
            ],
        ),
        (
            {"diagnosis": D(2019, 1, 1), "relapse": D(2020, 5, 2), "last_contact": D(2020, 1, 1)},
            None,
            [("last_contact", "last contact 1 January 2020 is before relapse 2 May 2020")],
        ),
        (
            {"diagnosis": D(2019, 1, 1), "death": D(2020, 5, 2), "last_contact": D(2020, 1, 1)},
            None,
            [
                (
                    "last_contact",
                    "last contact 1 January 2020 is before death 2 May 2020; for a patient who died,"
                    " last contact is the date of death",
                )
            ],
        ),
        (
            {
                "diagnosis": D(2019, 1, 1),
                "blina_start": D(2019, 6, 1),
                "relapse": D(2019, 5, 1),
                "last_contact": D(2020, 1, 1),
            },
            None,
            [
                (
                    "blina_start",
                    "blinatumomab start 1 June 2019 is after the first event, relapse 1 May 2019",
                )
            ],
        ),
        (
            {
                "diagnosis": D(2019, 1, 1),
                "blina_start": D(2020, 6, 1),
                "last_contact": D(2020, 1, 1),
            },
            None,
            [
                (
                    "blina_start",
                    "blinatumomab start 1 June 2020 is after last contact 1 January 2020",
                )
            ],
        ),
        (
            {
                "diagnosis": D(2019, 1, 1),
                "blina_start": D(2019, 4, 1),
                "last_contact": D(2020, 1, 1),
            },
            D(2019, 3, 1),
            [
                (
                    "blina_start",
                    "blinatumomab start 1 April 2019 is after the data cut-off 1 March 2019",
                )
            ],
        ),
        (
            {"diagnosis": D(2019, 4, 1), "last_contact": D(2020, 1, 1)},
            D(2019, 3, 1),
            [("diagnosis", "diagnosis 1 April 2019 is after the data cut-off 1 March 2019")],
        ),
        (
            {"diagnosis": D(2019, 4, 1), "birth": D(2019, 5, 1), "last_contact": D(2020, 1, 1)},
            None,
            [("birth", "date of birth 1 May 2019 is after diagnosis 1 April 2019")],
        ),
        (
            {"diagnosis": D(2019, 4, 1)},
            None,
            [
                (
                    "last_contact",
                    "no date of last contact and no event: event-free follow-up is unknown",
                )
            ],
        ),
        (
            {"diagnosis": D(2019, 4, 1), "relapse": D(2020, 1, 1)},
            None,
            [
                (
                    "last_contact",
                    "no date of last contact and no date of death: overall survival is unknown",
                )
            ],
        ),
        (
            {"last_contact": D(2020, 1, 1)},
            None,
            [("diagnosis", "no date of diagnosis; times are measured from it")],
        ),
    ],
)
def test_impossible_or_incomplete_dates_are_named(
    dates: Dates, cutoff: dt.date | None, expected: list[tuple[str, str]]
) -> None:
    d, issues = derive_outcome(dates, cutoff=cutoff)
    assert [(i.role, i.message) for i in issues] == expected
    assert d.efs_months is None and d.os_months is None  # nothing half-derived


@pytest.mark.parametrize(
    ("status", "dates", "expected"),
    [
        (
            "event-free",
            {"relapse": D(2020, 1, 1)},
            [("relapse", "status 'x' says event-free, but relapse 1 January 2020 is given")],
        ),
        (
            "alive",
            {"death": D(2020, 1, 1)},
            [("death", "status 'x' says alive, but death 1 January 2020 is given")],
        ),
        (
            "dead",
            {},
            [("death", "status 'x' needs a date of death, which is missing; EFS and OS need it")],
        ),
        (
            "relapse",
            {},
            [
                (
                    "relapse",
                    "status 'x' needs a date of relapse, which is missing; EFS and OS need it",
                )
            ],
        ),
        (
            "second-malignancy",
            {},
            [
                (
                    "second_malignancy",
                    "status 'x' needs a date of second malignancy, which is missing;"
                    " EFS and OS need it",
                )
            ],
        ),
    ],
)
def test_status_is_checked_against_the_dates(
    status: StatusCode, dates: Dates, expected: list[tuple[str, str]]
) -> None:
    full: Dates = {"diagnosis": D(2019, 1, 1), "last_contact": D(2021, 1, 1), **dates}
    if "death" in dates:
        full["last_contact"] = dates["death"]
    _, issues = derive_outcome(full, status=status, status_text="x")
    assert [(i.role, i.message) for i in issues] == expected


def test_dead_status_with_death_date_and_no_relapse_is_death_in_remission() -> None:
    d, issues = derive_outcome(
        {"diagnosis": D(2019, 1, 1), "relapse": None, "death": D(2019, 3, 1)}, status="dead"
    )
    assert issues == () and d.event_type == "death-in-remission" and d.os_event == 1
    with pytest.raises(InputError):
        derive_outcome({"diagnosis": D(2019, 1, 1)}, status="zombie")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# The realistic exports
# --------------------------------------------------------------------------------------


def test_export_files_are_what_the_script_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_exports", EXPORTS / "make_exports.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    for name in ("treated.csv", "treated_bad.csv"):
        assert (tmp_path / name).read_bytes() == (EXPORTS / name).read_bytes()
    fresh, committed = read_table(tmp_path / "pool.xlsx"), read_table(EXPORTS / "pool.xlsx")
    assert fresh.equals(committed)


def treated_mapping(raw: pd.DataFrame) -> Mapping:
    """The suggestion plus exactly the confirmations the treated file needs."""
    return (
        suggest_mapping(raw)
        .with_date_format("Date of death", "dd/mm/yyyy")  # 03/06/2021 etc. fit both
        .with_mrd_unit("mrd_eoi_pct", "percent")  # every value <= 1, no unit in the header
        .with_mrd_limit("mrd_eoi_pct", 0.01)  # 'neg': the assay's limit, 10^-4
        .with_column("MRD TP1 %", "mrd_day15_pct")  # TP1 is day 15 in this protocol
        .with_value("genetic_subtype", "normal karyotype", "B-other")
        .with_cutoff("2024-06-30")  # the data cut-off (a choice, not a confirmation)
    )


def pool_mapping(raw: pd.DataFrame) -> Mapping:
    """The suggestion plus exactly the confirmations the pool file needs."""
    return (
        suggest_mapping(raw)
        .with_column("Date of birth", "date:birth")  # compute age at diagnosis, drop the date
        .with_value("genetic_subtype", "normal karyotype", "B-other")
        .with_cutoff("2023-12-31")
    )


@pytest.fixture(scope="module")
def treated_raw() -> pd.DataFrame:
    return read_table(EXPORTS / "treated.csv")


@pytest.fixture(scope="module")
def pool_raw() -> pd.DataFrame:
    return read_table(EXPORTS / "pool.xlsx")


def test_treated_file_lists_exactly_the_confirmations_it_needs(treated_raw: pd.DataFrame) -> None:
    m = suggest_mapping(treated_raw)
    assert m.columns == {
        "Study No.": "patient_id",
        "Sex (M/F)": "sex",
        "Age at dx (y)": "age_years",
        "WBC at dx": "wbc_10e9_l",
        "Risk group": "risk_group",
        "Cytogenetics": "genetic_subtype",
        "CNS": "cns_status",
        "MRD d33": "mrd_eoi_pct",
    }
    assert m.dates == {
        "diagnosis": "Date of diagnosis",
        "blina_start": "Date of blinatumomab start",
        "relapse": "Date of relapse",
        "death": "Date of death",
        "last_contact": "Date of last follow-up",
    }
    assert m.status == "Status"
    assert m.status_codes == {
        "relapsed": "relapse",
        "aliveincr1": "event-free",
        "dead": "dead",
        "deceased": "dead",
    }
    assert "Date of death" not in m.date_formats  # never guessed
    review = review_mapping(treated_raw, m, needs_arm=False)
    assert [(a.kind, a.column) for a in review.ambiguities] == [
        ("date_format", "Date of death"),
        ("mrd_unit", "MRD d33"),
        ("mrd_limit", "MRD d33"),
    ]
    death = review.ambiguities[0]
    assert death.example == "03/06/2021" and death.example_row == 4
    assert death.readings == ("3 June 2021", "6 March 2021")
    assert death.suggestion == "dd/mm/yyyy"  # the other date columns prove it; not applied
    assert [(o.column, o.candidates) for o in review.offers] == [
        ("MRD TP1 %", ("mrd_day15_pct", "mrd_eoi_pct"))
    ]
    unrecognised = [
        (v.column, v.value, v.suggestion) for v in review.values if v.source == "unrecognised"
    ]
    assert unrecognised == [("Cytogenetics", "normal karyotype", "B-other")]
    assert review.missing == ()
    # Loading without the answers fails, naming each question with an example.
    with pytest.raises(CohortError) as info:
        load_cohort(EXPORTS / "treated.csv", Mapping.from_dict({**m.to_dict(), "arm": "blina"}))
    text = str(info.value)
    assert (
        "column 'Date of death': every day/month/year date in 'Date of death' fits both"
        " dd/mm/yyyy and mm/dd/yyyy: '03/06/2021' (row 4) is 3 June 2021 (dd/mm/yyyy) or"
        " 6 March 2021 (mm/dd/yyyy)" in text
    )
    assert "'<0.01' (row 3) is 0.01 % (percent) or 1 % (fraction)" in text
    assert "says 'neg' (row 2) without the detection limit" in text
    assert "row 3, column 'genetic_subtype', value 'normal karyotype': unknown value" in text
    assert review_mapping(treated_raw, treated_mapping(treated_raw), needs_arm=False).ready


def test_pool_file_lists_exactly_the_confirmations_it_needs(pool_raw: pd.DataFrame) -> None:
    m = suggest_mapping(pool_raw)
    assert m.dates == {
        "diagnosis": "Date of diagnosis",
        "relapse": "Date of relapse",
        "death": "Date of death",
        "last_contact": "Date of last follow-up",
    }
    review = review_mapping(pool_raw, m, needs_arm=False)
    assert review.ambiguities == ()  # Excel date cells, ISO text and serials are unambiguous
    assert [(o.column, o.candidates) for o in review.offers] == [("Date of birth", ("date:birth",))]
    assert [v.value for v in review.values if v.source == "unrecognised"] == ["normal karyotype"]
    assert review_mapping(pool_raw, pool_mapping(pool_raw), needs_arm=False).ready


@pytest.fixture(scope="module")
def cohort(treated_raw: pd.DataFrame, pool_raw: pd.DataFrame) -> pd.DataFrame:
    return combine_cohorts(
        EXPORTS / "treated.csv",
        EXPORTS / "pool.xlsx",
        mappings=(treated_mapping(treated_raw), pool_mapping(pool_raw)),
    ).set_index("patient_id", drop=False)


def test_months_equal_a_hand_computation_from_the_dates(cohort: pd.DataFrame) -> None:
    m = 365.25 / 12
    # BL-01: diagnosis 14 Mar 2019, blinatumomab 20 Jun 2019, relapse 2 Nov 2020, alive
    # at 15 Jan 2022. To the relapse: 17 days left in March 2019, 275 days April-December
    # 2019 (30+31+30+31+31+30+31+30+31), 305 days January-October 2020 (31+29+31+30+31+30
    # +31+31+30+31), 2 days of November: 599 days.
    row = cohort.loc["BL-01"]
    assert row["efs_months"] == 599 / m and row["efs_event"] == 1
    assert row["event_type"] == "relapse"
    # to 15 Jan 2022: 14 Mar 2019 -> 14 Mar 2021 is 365 + 366 = 731 days, then 306 days
    # to 14 Jan 2022 (31+30+31+30+31+31+30+31+30+31) and 1 more: 1038 days
    assert row["os_months"] == 1038 / m and row["os_event"] == 0
    # blinatumomab: 17 (March) + 30 (April) + 31 (May) + 20 (June) = 98 days
    assert row["blina_start_months"] == 98 / m
    assert row["mrd_eoi_pct"] != row["mrd_eoi_pct"] and row["mrd_eoi_below"] == 0.01  # 'neg'
    # BL-05: diagnosis 8 Nov 2019, died 5 Apr 2020 (dd/mm/yyyy as confirmed): 22 + 31 + 31
    # + 29 + 31 + 5 = 149 days; death in remission ends EFS and OS
    row = cohort.loc["BL-05"]
    assert (row["efs_months"], row["os_months"]) == (149 / m, 149 / m)
    assert (row["event_type"], row["os_event"]) == ("death-in-remission", 1)
    assert row["genetic_subtype"] == "B-other"
    # BL-04: diagnosis 19 Sep 2019, last follow-up 30 Sep 2024, after the 30 Jun 2024
    # cut-off: censored at the cut-off. 19 Sep 2019 -> 19 Sep 2023 is 1461 days (29 Feb
    # 2020), then 11+31+30+31+31+29+31+30+31+30 = 285 days to 30 Jun 2024: 1746 days
    row = cohort.loc["BL-04"]
    assert (row["efs_months"], row["os_months"], row["os_event"]) == (1746 / m, 1746 / m, 0)
    assert row["mrd_eoi_pct"] == 0.01  # 1x10^-4
    # BL-09: died 8 Oct 2024, after the cut-off: alive and event-free at 30 Jun 2024.
    # 21 Aug 2020 -> 21 Aug 2023 is 1095 days, then 10+30+31+30+31+31+29+31+30+31+30 =
    # 314 days: 1409 days
    row = cohort.loc["BL-09"]
    assert (row["efs_event"], row["os_event"], row["os_months"]) == (0, 0, 1409 / m)
    # BL-10: '< 0.01 %' is below 0.01 %; BL-12: '1x10-4' is 0.01 %
    assert cohort.loc["BL-10", "mrd_eoi_below"] == 0.01
    assert cohort.loc["BL-12", "mrd_eoi_pct"] == 0.01
    assert cohort.loc["BL-01", "mrd_day15_pct"] == 0.8  # MRD TP1 %, confirmed as day 15
    # H-102 (pool.xlsx): diagnosis 27 Apr 2015 (an Excel date cell), relapse '2016-09-14'
    # (ISO text), death 2 Mar 2017 (an Excel serial number, 42796). To the relapse: 366
    # days to 27 Apr 2016 (29 Feb 2016), then 3+31+30+31+31+14 = 140: 506 days. To the
    # death: 366 + 279 (27 Apr 2016 -> 31 Jan 2017) + 28 + 2 = 675 days
    row = cohort.loc["H-102"]
    assert (row["efs_months"], row["os_months"]) == (506 / m, 675 / m)
    assert (row["event_type"], row["os_event"]) == ("relapse", 1)
    # H-101: born 3 May 2011, diagnosed 11 Feb 2015: 1461 days to 3 May 2015 (29 Feb
    # 2012) less 81 (11 Feb -> 3 May 2015: 17+31+30+3): 1380 days = 1380 / 365.25 years
    assert cohort.loc["H-101", "age_years"] == 1380 / 365.25
    # H-116 died 3 Apr 2024, after the pool's 31 Dec 2023 cut-off: censored there
    assert cohort.loc["H-116", "os_event"] == 0
    assert cohort.loc["H-116", "efs_event"] == 0
    assert cohort.loc["H-116", "diagnosis_year"] == 2018


def test_derived_columns_equal_an_independent_r_computation(cohort: pd.DataFrame) -> None:
    # tests/data/exports/make_exports_reference.R: base R as.Date/difftime, readxl
    expected = json.loads((EXPORTS / "exports.expected.json").read_text(encoding="utf-8"))
    assert set(expected) == set(cohort.index)
    worst = 0.0
    for pid, numbers in expected.items():
        for name, value in numbers.items():
            got = float(cohort.loc[pid, name])
            if name.endswith("_event"):
                assert got == value, (pid, name)
            else:
                worst = max(worst, abs(got - value) / max(abs(value), 1e-300))
    assert worst < 1e-12  # R prints 15 significant digits


def test_every_row_kept_and_dates_dropped(cohort: pd.DataFrame) -> None:
    assert len(cohort) == 12 + 20
    assert cohort["arm"].value_counts().to_dict() == {"chemotherapy": 20, "blinatumomab": 12}
    for name in ("Date of diagnosis", "Date of birth", "Status", "Date of death"):
        assert name not in cohort.columns
    assert (cohort["efs_months"] <= cohort["os_months"]).all()
    assert cohort["efs_months"].notna().all() and cohort["os_months"].notna().all()


def test_derived_columns_shown_beside_the_dates(treated_raw: pd.DataFrame) -> None:
    m = treated_mapping(treated_raw)
    table = date_derivation(treated_raw, m, ["BL-09"])
    row = table.iloc[0]
    assert (row["row"], row["diagnosis"], row["death"], row["cutoff"]) == (
        10,
        "2020-08-21",
        "2024-10-08",
        "2024-06-30",
    )
    assert (row["os_end"], row["os_end_reason"], row["os_event"]) == ("2024-06-30", "cut-off", 0)
    assert row["notes"].startswith("death 8 October 2024 is after the cut-off 30 June 2024")
    whole = date_derivation(treated_raw, m)
    loaded = load_cohort(
        EXPORTS / "treated.csv", Mapping.from_dict({**m.to_dict(), "arm": "blina"})
    )
    for name in ("efs_months", "os_months", "blina_start_months"):
        assert whole[name].tolist() == loaded[name].tolist()
    with pytest.raises(InputError, match="patient BL-99 is not in the file"):
        date_derivation(treated_raw, m, ["BL-99"])
    # before the date format of 'Date of death' is answered, BL-03 (who died) has no
    # times, and the table says why
    unanswered = date_derivation(treated_raw, suggest_mapping(treated_raw), ["BL-03", "BL-01"])
    assert unanswered["problems"].tolist() == [
        "'Date of death': '03/06/2021' needs the column's date format",
        "",
    ]
    assert np.isnan(unanswered["efs_months"][0]) and unanswered["efs_months"][1] == 599 / 30.4375


def test_bad_file_reports_every_bad_date_by_patient_and_cell(treated_raw: pd.DataFrame) -> None:
    m = Mapping.from_dict({**treated_mapping(treated_raw).to_dict(), "arm": "blinatumomab"})
    with pytest.raises(CohortError) as info:
        load_cohort(EXPORTS / "treated_bad.csv", m)
    found = [(p.row, p.column, p.value, p.message) for p in info.value.problems]
    assert found == [
        (
            2,
            "Date of blinatumomab start",
            "20/12/2020",
            "patient BL-01: blinatumomab start 20 December 2020 is after the first event,"
            " relapse 2 November 2020",
        ),
        (
            3,
            "Date of death",
            "10/05/2024",
            "patient BL-02: status 'alive in CR1' says event-free, but death 10 May 2024 is given",
        ),
        (
            4,
            "Date of relapse",
            "14/13/2021",
            "patient BL-03: '14/13/2021' does not fit the column's format dd/mm/yyyy",
        ),
        (
            6,
            "Date of death",
            "05/04/2019",
            "patient BL-05: death 5 April 2019 is before diagnosis 8 November 2019",
        ),
        (
            6,
            "Date of last follow-up",
            "05/04/2019",
            "patient BL-05: last contact 5 April 2019 is before diagnosis 8 November 2019",
        ),
        (
            6,
            "Date of blinatumomab start",
            "21/02/2020",
            "patient BL-05: blinatumomab start 21 February 2020 is after the first event,"
            " death 5 April 2019",
        ),
        (
            7,
            "Date of last follow-up",
            "11/12/23",
            "patient BL-06: '11/12/23' has a two-digit year; write the year in full",
        ),
        (
            8,
            "Date of last follow-up",
            "03/02/2022",
            "patient BL-07: last contact 3 February 2022 is before relapse 19 August 2022",
        ),
        (
            9,
            "Date of last follow-up",
            "28/02/2024",
            "patient BL-08: last contact 28 February 2024 is before death 1 March 2024; for a"
            " patient who died, last contact is the date of death",
        ),
        (
            10,
            "Date of death",
            "",
            "patient BL-09: status 'dead' needs a date of death, which is missing; EFS and OS"
            " need it",
        ),
        (
            11,
            "Date of relapse",
            "2022-13-01",
            "patient BL-10: '2022-13-01' is not a real calendar date",
        ),
        (
            13,
            "Date of diagnosis",
            "31/02/2021",
            "patient BL-12: '31/02/2021' is not a real calendar date",
        ),
    ]
    # no patient silently dropped: the rows without problems derive as in the good file
    mapped, problems = map_cohort(read_table(EXPORTS / "treated_bad.csv"), m)
    assert len(mapped) == 12 and len(problems) == len(found)
    good = load_cohort(EXPORTS / "treated.csv", m)
    assert mapped.loc[10, "efs_months"] == good.loc[10, "efs_months"]  # BL-11 unaffected
    assert mapped["efs_months"].isna().sum() == 10  # every row with a problem has none


def test_status_text_that_cannot_give_efs_and_os_says_what_is_missing() -> None:
    raw = pd.DataFrame(
        {
            "ID": ["P1", "P2", "P3"],
            "Dx": ["2019-01-01"] * 3,
            "Last": ["2021-01-01", None, "2021-01-01"],
            "Status": ["dead", "relapsed", "in hospice"],
        },
        dtype=object,
    )
    m = (
        suggest_mapping(raw)
        .with_column("Dx", "date:diagnosis")
        .with_column("Last", "date:last_contact")
    )
    m = m.with_column("Status", "status").with_column("ID", "patient_id")
    m = Mapping.from_dict({**m.to_dict(), "status_codes": {"dead": "dead", "relapsed": "relapse"}})
    _, problems = map_cohort(raw, m)
    assert [str(p) for p in problems] == [
        "row 2, column 'Status', value 'dead': patient P1: status 'dead' needs a date of death,"
        " which is missing; EFS and OS need it",
        "row 3, column 'Status', value 'relapsed': patient P2: status 'relapsed' needs a date of"
        " relapse, which is missing; EFS and OS need it",
        "row 4, column 'Status', value 'in hospice': patient P3: unknown status; say what it"
        " means (one of event-free, alive, relapse, induction-failure, second-malignancy, dead)",
    ]


def test_mixed_day_first_and_month_first_is_reported_until_answered() -> None:
    raw = pd.DataFrame(
        {"Dx": ["13/01/2019", "01/13/2019"], "Last": ["2021-01-01", "2021-01-01"]}, dtype=object
    )
    m = Mapping(dates={"diagnosis": "Dx", "last_contact": "Last"})
    _, problems = map_cohort(raw, m)
    assert [str(p) for p in problems] == [
        "column 'Dx': 'Dx' mixes day-first and month-first dates: '13/01/2019' (row 2) fits only"
        " dd/mm/yyyy and '01/13/2019' (row 3) only mm/dd/yyyy; say which format the column uses"
        " (cells that do not fit it are then reported)"
    ]
    _, problems = map_cohort(raw, m.with_date_format("Dx", "dd/mm/yyyy"))
    assert [(p.row, p.value) for p in problems] == [(3, "01/13/2019")]


def test_date_columns_mapped_to_roles_are_not_identifiers(
    treated_raw: pd.DataFrame, pool_raw: pd.DataFrame
) -> None:
    dates = [c for c in treated_raw.columns if c.startswith("Date of")]
    assert len(dates) == 5
    assert set(identifier_reasons(treated_raw)) == set(dates)  # before: offered for dropping
    assert identifier_reasons(treated_raw, mapping=suggest_mapping(treated_raw)) == {}
    assert {"Date of birth", "Date of diagnosis"} <= set(identifier_reasons(pool_raw))
    # the date of birth stays flagged until the user maps it to compute age
    assert set(identifier_reasons(pool_raw, mapping=suggest_mapping(pool_raw))) == {"Date of birth"}
    assert identifier_reasons(pool_raw, mapping=pool_mapping(pool_raw)) == {}
    # an unmapped full date (here a transplant date) is still flagged
    extra = treated_raw.assign(**{"Date of HSCT": ["01/02/2021"] * len(treated_raw)})
    assert set(identifier_reasons(extra, mapping=treated_mapping(treated_raw))) == {"Date of HSCT"}


def test_mapping_json_round_trip_reloads_the_identical_cohort(
    treated_raw: pd.DataFrame, pool_raw: pd.DataFrame, cohort: pd.DataFrame, tmp_path: Path
) -> None:
    maps = (treated_mapping(treated_raw), pool_mapping(pool_raw))
    texts = [m.to_json() for m in maps]
    again = tuple(Mapping.from_json(t) for t in texts)
    assert again == maps and [m.to_json() for m in again] == texts
    saved = json.loads(texts[0])
    assert saved["date_formats"]["Date of death"] == "dd/mm/yyyy"
    assert (saved["cutoff"], saved["mrd_units"], saved["mrd_limits"]) == (
        "2024-06-30",
        {"mrd_eoi_pct": "percent"},
        {"mrd_eoi_pct": 0.01},
    )
    reloaded = combine_cohorts(EXPORTS / "treated.csv", EXPORTS / "pool.xlsx", mappings=again)
    assert content_hash(reloaded) == content_hash(cohort.reset_index(drop=True))


def test_command_line_applies_the_same_mapping_json(
    treated_raw: pd.DataFrame, pool_raw: pd.DataFrame, cohort: pd.DataFrame, tmp_path: Path
) -> None:
    (tmp_path / "m1.json").write_text(treated_mapping(treated_raw).to_json(), encoding="utf-8")
    (tmp_path / "m2.json").write_text(pool_mapping(pool_raw).to_json(), encoding="utf-8")
    chosen = Settings(sweep_calipers=(0.2,)).update(
        matching__covariates=("age_years", "sex", "wbc_10e9_l"), bootstrap__replicates=10
    )
    (tmp_path / "s.json").write_text(chosen.to_json(), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        [
            "report",
            str(EXPORTS / "treated.csv"),
            str(EXPORTS / "pool.xlsx"),
            "--mapping",
            str(tmp_path / "m1.json"),
            "--mapping2",
            str(tmp_path / "m2.json"),
            "--settings",
            str(tmp_path / "s.json"),
            "--out",
            str(tmp_path / "out"),
            "--no-pdf",
            "--quiet",
        ],
        stdout=out,
        stderr=err,
    )
    assert code == 0, err.getvalue()
    assert f"cohort SHA-256 {cohort_hash(cohort.reset_index(drop=True))}" in out.getvalue()


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

DAY0 = D(2010, 1, 1)


@st.composite
def patients(draw: st.DrawFn) -> Dates:
    """A consistent set of dates: diagnosis, blinatumomab, events, death, last contact."""
    dx = DAY0 + dt.timedelta(days=draw(st.integers(0, 3650)))
    blina = dx + dt.timedelta(days=draw(st.integers(0, 200)))
    dates: Dates = {"diagnosis": dx, "blina_start": blina}
    t = blina
    events: tuple[DateRole, ...] = ("relapse", "second_malignancy")
    for role in events:
        if draw(st.booleans()):
            t = t + dt.timedelta(days=draw(st.integers(0, 900)))
            dates[role] = t
        else:
            dates[role] = None
    if draw(st.booleans()):
        t = t + dt.timedelta(days=draw(st.integers(0, 900)))
        dates["death"] = dates["last_contact"] = t
    else:
        dates["death"] = None
        dates["last_contact"] = t + dt.timedelta(days=draw(st.integers(0, 900)))
    return dates


def render(day: dt.date | None, style: str) -> Any:
    if day is None:
        return None
    if style == "iso":
        return day.isoformat()
    if style == "dmy":
        return day.strftime("%d/%m/%Y")
    if style == "mdy":
        return day.strftime("%m/%d/%Y")
    if style == "dot":
        return day.strftime("%d.%m.%Y")
    if style == "ymd-slash":
        return day.strftime("%Y/%m/%d")
    if style == "serial":
        return (day - D(1899, 12, 30)).days
    if style == "named":
        return day.strftime("%d %b %Y")
    return dt.datetime(day.year, day.month, day.day)  # an Excel date cell


STYLES = ("iso", "dmy", "mdy", "dot", "ymd-slash", "serial", "named", "excel")
ROLES: tuple[DateRole, ...] = (
    "diagnosis",
    "blina_start",
    "relapse",
    "second_malignancy",
    "death",
    "last_contact",
)


def frame_of(people: list[Dates], styles: dict[DateRole, str]) -> tuple[pd.DataFrame, Mapping]:
    data: dict[str, list[Any]] = {"ID": [f"P{i}" for i in range(len(people))]}
    formats: dict[str, DateFormat] = {}
    for role in ROLES:
        data[role] = [render(p[role], styles[role]) for p in people]
        if styles[role] in ("dmy", "mdy"):
            formats[role] = "dd/mm/yyyy" if styles[role] == "dmy" else "mm/dd/yyyy"
    raw = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    m = Mapping(columns={"ID": "patient_id"}, dates={r: r for r in ROLES}, date_formats=formats)
    return raw, m


DERIVED = ["efs_months", "efs_event", "os_months", "os_event", "event_type", "blina_start_months"]


@settings(max_examples=60, deadline=None)
@given(
    people=st.lists(patients(), min_size=1, max_size=6),
    styles=st.fixed_dictionaries({r: st.sampled_from(STYLES) for r in ROLES}),
)
def test_derived_months_do_not_depend_on_the_date_format(
    people: list[Dates], styles: dict[DateRole, str]
) -> None:
    iso, m_iso = frame_of(people, dict.fromkeys(ROLES, "iso"))
    other, m_other = frame_of(people, styles)
    a, pa = map_cohort(iso, m_iso)
    b, pb = map_cohort(other, m_other)
    assert pa == [] and pb == []
    assert a[DERIVED].to_dict("list") == b[DERIVED].to_dict("list")


def known_outcome(d: Derived) -> tuple[float, float, int, int]:
    """EFS and OS months and events of a derived outcome that has them all."""
    assert d.efs_months is not None and d.os_months is not None
    assert d.efs_event is not None and d.os_event is not None
    return d.efs_months, d.os_months, d.efs_event, d.os_event


@settings(max_examples=100, deadline=None)
@given(person=patients(), cut=st.integers(0, 6000))
def test_efs_never_exceeds_os_and_the_cutoff_only_shortens(person: Dates, cut: int) -> None:
    blina = person["blina_start"]
    assert blina is not None
    cutoff = max(blina, DAY0 + dt.timedelta(days=cut))
    free, issues = derive_outcome(person)
    assert issues == ()
    cut_d, issues = derive_outcome(person, cutoff=cutoff)
    assert issues == ()
    free_known, cut_known = known_outcome(free), known_outcome(cut_d)
    for efs, os_, efs_event, os_event in (free_known, cut_known):
        assert efs <= os_
        assert efs_event >= os_event
    free_efs, free_os, free_efs_event, free_os_event = free_known
    cut_efs, cut_os, cut_efs_event, cut_os_event = cut_known
    assert cut_efs <= free_efs
    assert cut_os <= free_os
    assert cut_efs_event <= free_efs_event and cut_os_event <= free_os_event
    latest = max(d for d in person.values() if d is not None)
    if cutoff >= latest:
        assert cut_d.efs_months == free.efs_months and cut_d.os_months == free.os_months


@settings(max_examples=60, deadline=None)
@given(person=patients(), days=st.integers(1, 4000))
def test_problems_name_the_patient_and_the_cell(person: Dates, days: int) -> None:
    # move the relapse (or death) before the diagnosis: always reported, never derived
    broken = dict(person)
    role: DateRole = "relapse" if person["relapse"] is not None else "last_contact"
    diagnosis = person["diagnosis"]
    assert diagnosis is not None
    moved = diagnosis - dt.timedelta(days=days)
    broken[role] = moved
    raw, m = frame_of([broken], dict.fromkeys(ROLES, "iso"))
    out, problems = map_cohort(raw, m)
    assert problems
    assert all(p.row == 2 and p.message.startswith("patient P0: ") for p in problems)
    assert any(p.column == role and p.value == moved.isoformat() for p in problems)
    assert out["efs_months"].isna().all()


def test_problem_type_is_the_schema_problem() -> None:
    raw, m = frame_of([{r: None for r in ROLES}], dict.fromkeys(ROLES, "iso"))
    _, problems = map_cohort(raw, m)
    assert all(isinstance(p, Problem) for p in problems)
    assert [p.message for p in problems] == [
        "patient P0: no date of diagnosis; times are measured from it"
    ]
