"""The Data page's mapping review, driven headless with ``streamlit.testing.v1.AppTest``.

The realistic hospital exports (tests/data/exports) go through the real file uploader;
exactly the confirmations each file needs are answered on the page (treated CSV: the
date format of 'Date of death', the unit and the detection limit of 'MRD d33', the
time point of 'MRD TP1 %', 'normal karyotype'; pool XLSX: the date of birth and
'normal karyotype'); the cohort's derived months are compared with hand computations
from the dates; the settings saved afterwards hold the mappings and reproduce the
identical cohort from the same files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from blinastudy.analysis.settings import Settings
from blinastudy.data.cohort import combine_cohorts, content_hash, read_table
from blinastudy.data.mapping import Mapping, review_mapping, suggest_mapping
from pages.common.ui_state import (
    KEEP_NAME,
    READ_AS_BLANK,
    column_reasons,
    mapping_from_table,
    mapping_table,
    value_changes,
    value_groups,
    value_table,
)
from tests._apptest import (
    EXPORTS,
    STORE,
    XLSX,
    assert_clean,
    edit_cell,
    start,
    upload_settings,
)

M = 365.25 / 12  # days per month

W = TypeVar("W")


def one(items: Sequence[W], text: str, label: Callable[[W], str]) -> W:
    """The one element whose label contains ``text``."""
    found = [w for w in items if text in label(w)]
    assert len(found) == 1, (text, [label(w) for w in items])
    return found[0]


def radio(at: AppTest, text: str) -> Any:
    return one(list(at.radio), text, lambda w: str(w.label))


def selectbox(at: AppTest, text: str) -> Any:
    return one(list(at.selectbox), text, lambda w: str(w.label))


def number(at: AppTest, text: str) -> Any:
    return one(list(at.number_input), text, lambda w: str(w.label))


def button(at: AppTest, text: str) -> Any:
    return one(list(at.button), text, lambda w: str(w.label))


def keyed(at: AppTest, prefix: str, kind: str = "selectbox") -> Any:
    found = [w for w in getattr(at, kind) if str(w.key or "").startswith(prefix)]
    assert len(found) == 1, (prefix, [w.key for w in getattr(at, kind)])
    return found[0]


def editor_key(at: AppTest, prefix: str) -> str:
    keys = [str(d.key) for d in at.data_editor if str(d.key or "").startswith(prefix)]
    assert len(keys) == 1, (prefix, keys)
    return keys[0]


def loadable(at: AppTest) -> bool:
    """Whether the enabled load button ("Use this cohort") is on the page."""
    return any(b.key == "use_cohort" and not b.disabled for b in at.button)


def still_needed(at: AppTest) -> list[str]:
    """The lines of every file's "still needed" box."""
    lines: list[str] = []
    for w in at.warning:
        text = str(w.value)
        if text.startswith("**Still needed"):
            lines.extend(line[2:] for line in text.splitlines()[1:])
    return lines


def upload_exports(at: AppTest, treated: str = "treated.csv") -> AppTest:
    at.file_uploader(key="upload.treated").set_value(
        (treated, (EXPORTS / treated).read_bytes(), "text/csv")
    )
    at.file_uploader(key="upload.pool").set_value(
        ("pool.xlsx", (EXPORTS / "pool.xlsx").read_bytes(), XLSX)
    )
    return at.run()


def report(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "message" in d.value.columns)


#: The named confirmations, in the order a user meets them on the page.
CONFIRMATIONS: list[tuple[str, Callable[[AppTest], Any]]] = [
    (
        "treated: 'Date of death' is dd/mm/yyyy",
        lambda at: radio(at, "'Date of death'").set_value("dd/mm/yyyy"),
    ),
    ("treated: 'MRD d33' is percent", lambda at: radio(at, "'MRD d33'").set_value("percent")),
    ("treated: 'neg' means below 0.01 %", lambda at: number(at, "'MRD d33'").set_value(0.01)),
    (
        "treated: 'MRD TP1 %' is day 15",
        lambda at: selectbox(at, "'MRD TP1 %'").set_value("mrd_day15_pct"),
    ),
    ("treated: 'normal karyotype' is B-other", lambda at: button(at, "'Cytogenetics'").click()),
    (
        "pool: map the date of birth",
        lambda at: selectbox(at, "'Date of birth'").set_value("date:birth"),
    ),
    ("pool: 'normal karyotype' is B-other", lambda at: button(at, "'Karyotype'").click()),
]


@dataclasses.dataclass
class Session:
    at: AppTest
    needed_before: list[str]
    loadable_after: list[bool]
    flagged_before: pd.DataFrame | None


def identifier_table(at: AppTest) -> pd.DataFrame | None:
    if not any("direct identifiers" in str(w.value) for w in at.warning):
        return None
    return next(d.value for d in at.dataframe if list(d.value.columns) == ["column", "why"])


@pytest.fixture(scope="module")
def confirmed() -> Session:
    """Both exports uploaded, the seven confirmations answered, the cohort loaded."""
    at = upload_exports(start())
    assert_clean(at)
    needed = still_needed(at)
    flagged = identifier_table(at)
    after: list[bool] = []
    for _, answer in CONFIRMATIONS:
        answer(at)
        at.run()
        assert_clean(at)
        after.append(loadable(at))
    at.button(key="use_cohort").click().run()
    assert_clean(at)
    return Session(at, needed, after, flagged)


# --------------------------------------------------------------------------------------
# Exactly the named confirmations, and nothing loads before they are all answered
# --------------------------------------------------------------------------------------


def test_the_page_asks_exactly_the_named_confirmations(confirmed: Session) -> None:
    assert confirmed.needed_before == [
        "say whether 'Date of death' writes dates dd/mm/yyyy or mm/dd/yyyy",
        "say whether 'MRD d33' (mrd_eoi_pct) is in percent or a fraction",
        "give the detection limit behind 'neg' in 'MRD d33' (mrd_eoi_pct)",
        "say what 'normal karyotype' in 'Cytogenetics' (genetic_subtype) means (suggested: B-other)",
        "say what 'normal karyotype' in 'Karyotype' (genetic_subtype) means (suggested: B-other)",
    ]
    # the load button is enabled by the last confirmation, not before
    assert confirmed.loadable_after == [False] * 6 + [True]
    assert still_needed(confirmed.at) == []
    # loading stores the mappings in the settings; the page does not take that for a
    # mapping loaded from outside
    assert not any("saved in the loaded settings" in str(c.value) for c in confirmed.at.caption)


def test_a_fresh_upload_offers_unclear_columns_unmapped_with_the_reason() -> None:
    at = upload_exports(start())
    assert_clean(at)
    tp1 = selectbox(at, "'MRD TP1 %'")
    assert tp1.value == "(leave unmapped)"
    assert tp1.options == ["(leave unmapped)", "mrd_day15_pct", "mrd_eoi_pct"]
    assert any(
        "'TP1' means different days in different protocols" in str(c.value) for c in at.caption
    )
    dob = selectbox(at, "'Date of birth'")
    assert dob.value == "(leave unmapped)" and dob.options == ["(leave unmapped)", "date of birth"]
    # the column table: each column with its role and why
    columns = next(d.value for d in at.dataframe if "becomes" in d.value.columns)
    rows = columns.set_index("file column")
    assert rows.loc["Date of death", "becomes"] == "date:death"
    assert rows.loc["Status", "becomes"] == "status"
    assert rows.loc["MRD TP1 %", "becomes"] == KEEP_NAME
    assert "left unmapped until you confirm it" in str(rows.loc["MRD TP1 %", "why"])
    assert rows.loc["Date of diagnosis", "why"] == "is read as dd/mm/yyyy (from '14/03/2019')"
    # both readings of the example cell, and the suggestion (not applied)
    death = radio(at, "'Date of death'")
    assert death.value is None
    assert death.options == [
        "dd/mm/yyyy: '03/06/2021' is 3 June 2021",
        "mm/dd/yyyy: '03/06/2021' is 6 March 2021",
    ]
    assert any(str(c.value).startswith("Suggested: dd/mm/yyyy, because") for c in at.caption)
    # radio options are Markdown: the file's value is escaped to show as typed
    assert radio(at, "'MRD d33'").options == [
        "percent: '\\<0.01' is 0.01 %",
        "fraction: '\\<0.01' is 1 %",
    ]
    assert not loadable(at)
    assert any(b.key == "use_cohort_blocked" and b.disabled for b in at.button)


# --------------------------------------------------------------------------------------
# The loaded cohort
# --------------------------------------------------------------------------------------


def test_derived_months_equal_a_hand_computation_from_the_dates(confirmed: Session) -> None:
    store = confirmed.at.session_state[STORE]
    assert not store.is_demo and store.source == "treated.csv + pool.xlsx"
    cohort = store.cohort.set_index("patient_id")
    # BL-01: diagnosis 14 Mar 2019, relapse 2 Nov 2020: 17 days left in March 2019, 275
    # in April-December 2019, 305 in January-October 2020 (a leap year), 2 in November:
    # 599 days. Last follow-up 15 Jan 2022: 731 days to 14 Mar 2021, 306 to 14 Jan 2022,
    # 1 more: 1038 days. Blinatumomab on 20 Jun 2019: 17 + 30 + 31 + 20 = 98 days.
    row = cohort.loc["BL-01"]
    assert (row["efs_months"], row["efs_event"], row["event_type"]) == (599 / M, 1, "relapse")
    assert (row["os_months"], row["os_event"]) == (1038 / M, 0)
    assert row["blina_start_months"] == 98 / M
    # 'neg' with the confirmed limit of 0.01 %; 'MRD TP1 %' confirmed as day 15
    assert pd.isna(row["mrd_eoi_pct"]) and row["mrd_eoi_below"] == 0.01
    assert row["mrd_day15_pct"] == 0.8
    # BL-05: died '05/04/2020', read dd/mm/yyyy as confirmed: 5 April 2020, 22 + 31 + 31
    # + 29 + 31 + 5 = 149 days after diagnosis on 8 Nov 2019 (as mm/dd/yyyy it would be
    # 4 May 2020); 'normal karyotype' confirmed as B-other
    row = cohort.loc["BL-05"]
    assert (row["efs_months"], row["os_months"], row["os_event"]) == (149 / M, 149 / M, 1)
    assert row["event_type"] == "death-in-remission"
    assert row["genetic_subtype"] == "B-other"
    # H-102 (pool.xlsx): diagnosis 27 Apr 2015 (an Excel date cell), relapse '2016-09-14'
    # (ISO text): 366 days to 27 Apr 2016 (29 Feb 2016) + 3 + 31 + 30 + 31 + 31 + 14 =
    # 506 days. Death 2 Mar 2017 (Excel serial 42796): 366 + 279 + 28 + 2 = 675 days.
    row = cohort.loc["H-102"]
    assert (row["efs_months"], row["os_months"]) == (506 / M, 675 / M)
    assert (row["event_type"], row["os_event"]) == ("relapse", 1)
    # H-101: born 3 May 2011, diagnosed 11 Feb 2015: 1461 days to 3 May 2015 less 81
    assert cohort.loc["H-101", "age_years"] == 1380 / 365.25
    # BL-09 died 8 Oct 2024 (no cut-off set): 1095 + 366 + 10 + 30 + 8 = 1509 days
    assert (cohort.loc["BL-09", "os_months"], cohort.loc["BL-09", "os_event"]) == (1509 / M, 1)


def test_nothing_is_silently_dropped(confirmed: Session) -> None:
    cohort = confirmed.at.session_state[STORE].cohort
    treated = read_table(EXPORTS / "treated.csv")
    pool = read_table(EXPORTS / "pool.xlsx")
    assert cohort["patient_id"].tolist() == [
        *treated["Study No."].tolist(),
        *pool["Pat. Nr."].tolist(),
    ]
    assert cohort["efs_months"].notna().all() and cohort["os_months"].notna().all()
    for name in ("Date of birth", "Date of death", "Status", "MRD TP1 %"):
        assert name not in cohort.columns


def test_settings_json_holds_the_mappings_and_reproduces_the_cohort(confirmed: Session) -> None:
    store = confirmed.at.session_state[STORE]
    saved = store.settings.to_json()
    data = json.loads(saved)
    treated, pool = data["mappings"]  # one per file, treated first
    assert treated["date_formats"]["Date of death"] == "dd/mm/yyyy"
    assert treated["mrd_units"] == {"mrd_eoi_pct": "percent"}
    assert treated["mrd_limits"] == {"mrd_eoi_pct": 0.01}
    assert treated["columns"]["MRD TP1 %"] == "mrd_day15_pct"
    assert treated["categories"]["genetic_subtype"] == {"normalkaryotype": "B-other"}
    assert pool["dates"]["birth"] == "Date of birth"
    assert pool["categories"]["genetic_subtype"] == {"normalkaryotype": "B-other"}
    # no example cell of the files (reports embed the settings)
    assert treated["notes"] == [] and pool["notes"] == []
    assert "14/03/2019" not in saved and "03/06/2021" not in saved
    # the same files with the saved settings: no question asked, the identical cohort
    fresh = upload_exports(upload_settings(start(), saved.encode()))
    assert_clean(fresh)
    assert still_needed(fresh) == [] and loadable(fresh)
    assert any("saved in the loaded settings was applied" in str(c.value) for c in fresh.caption)
    fresh.button(key="use_cohort").click().run()
    assert fresh.session_state[STORE].cohort_hash == store.cohort_hash
    # ... and so does the command line's route (combine_cohorts with settings.mappings)
    treated_map, pool_map = (Mapping.from_dict(m) for m in Settings.from_json(saved).mappings)
    maps = (treated_map, pool_map)
    again = combine_cohorts(EXPORTS / "treated.csv", EXPORTS / "pool.xlsx", mappings=maps)
    assert content_hash(again) == store.cohort_hash


def test_settings_loaded_after_the_upload_restore_the_mappings(confirmed: Session) -> None:
    saved = confirmed.at.session_state[STORE].settings.to_json()
    at = upload_exports(start())
    assert still_needed(at)
    upload_settings(at, saved.encode())
    assert_clean(at)
    assert still_needed(at) == [] and loadable(at)


# --------------------------------------------------------------------------------------
# Bad dates: reported by patient, row and cell
# --------------------------------------------------------------------------------------


def test_bad_dates_are_reported_by_patient_row_and_cell(confirmed: Session) -> None:
    saved = confirmed.at.session_state[STORE].settings.to_json()
    at = upload_exports(upload_settings(start(), saved.encode()), treated="treated_bad.csv")
    assert_clean(at)
    assert any("has 12 problems" in str(e.value) for e in at.error)
    found = report(at)
    assert list(found.columns) == ["file", "row", "column", "value", "message"]
    rows = {
        (r.row, r.column, r.value): r.message
        for r in found.itertuples()
        if r.file == "treated_bad.csv"
    }
    assert len(rows) == 12 and len(found) == 12
    assert rows[("10", "Date of death", "")] == (
        "patient BL-09: status 'dead' needs a date of death, which is missing; EFS and OS need it"
    )
    assert rows[("13", "Date of diagnosis", "31/02/2021")] == (
        "patient BL-12: '31/02/2021' is not a real calendar date"
    )
    assert rows[("7", "Date of last follow-up", "11/12/23")] == (
        "patient BL-06: '11/12/23' has a two-digit year; write the year in full"
    )
    assert not loadable(at) and at.session_state[STORE].is_demo
    # the patient's dates beside what could (not) be derived, and why
    keyed(at, "trace.treated").set_value(8).run()  # BL-09, row 10
    view = next(d.value for d in at.dataframe if list(d.value.columns) == ["item", "value"])
    shown = dict(zip(view["item"], view["value"], strict=True))
    assert shown["patient"] == "BL-09" and shown["date of death"] == "(blank)"
    assert shown["EFS"] == "not derived"
    assert (
        shown["problems"]
        == "status 'dead' needs a date of death, which is missing; EFS and OS need it"
    )


def test_an_upload_is_described_and_its_problems_name_the_rows_of_the_file() -> None:
    text = (
        "patient_id,arm,efs_months,efs_event,os_months,os_event\n"
        "P1,blinatumomab,5,0,5,0\n\n\nP2,chemotherapy,6,0,x,0\n"
    )
    at = start()
    at.file_uploader(key="upload.treated").set_value(("gaps.csv", text.encode(), "text/csv"))
    at.run()
    assert_clean(at)
    captions = [str(c.value) for c in at.caption]
    assert any(c.startswith("2 rows, 6 columns. read as comma-separated text") for c in captions)
    found = report(at)
    assert found[["row", "column", "value"]].values.tolist() == [["5", "os_months", "x"]]


# --------------------------------------------------------------------------------------
# Editing: the column table, the value tables, the cut-off, traceability
# --------------------------------------------------------------------------------------


def test_column_table_edits_map_a_column_and_clashes_are_reported() -> None:
    at = upload_exports(start())
    key = editor_key(at, "map.treated.")
    position = list(read_table(EXPORTS / "treated.csv").columns).index("MRD TP1 %")
    edit_cell(at, key, position, "becomes", "mrd_day15_pct")
    assert_clean(at)
    assert not [s for s in at.selectbox if "'MRD TP1 %'" in str(s.label)]  # no longer offered
    # a second column mapped to the same target is refused, in words
    edit_cell(at, editor_key(at, "map.treated."), position, "becomes", "mrd_eoi_pct")
    assert_clean(at)
    assert [str(e.value) for e in at.error] == [
        "This mapping cannot be used: columns 'MRD d33' and 'MRD TP1 %' are both mapped to"
        " 'mrd_eoi_pct'"
    ]
    assert not loadable(at)


def test_value_table_edit_reads_a_value_as_blank() -> None:
    at = upload_exports(start())
    editor = next(
        d
        for d in at.data_editor
        if str(d.key).startswith("values.treated.")
        and "normal karyotype" in d.value["value"].tolist()
    )
    position = editor.value["value"].tolist().index("normal karyotype")
    assert editor.value["reads as"][position] == "B-other"  # the suggestion, pre-selected
    edit_cell(at, str(editor.key), position, "reads as", READ_AS_BLANK)
    button(at, "'Cytogenetics'").click().run()
    assert_clean(at)
    mapping = at.session_state[STORE].uploads["treated"]["mapping"]
    assert mapping.categories["genetic_subtype"] == {"normalkaryotype": None}
    assert not any("'Cytogenetics'" in line for line in still_needed(at))


def test_cutoff_censors_later_events(confirmed: Session) -> None:
    saved = confirmed.at.session_state[STORE].settings.to_json()
    at = upload_exports(upload_settings(start(), saved.encode()))
    keyed(at, "cutoff.treated.", "date_input").set_value(dt.date(2024, 6, 30)).run()
    assert_clean(at)
    assert at.session_state[STORE].uploads["treated"]["mapping"].cutoff == dt.date(2024, 6, 30)
    at.button(key="use_cohort").click().run()
    cohort = at.session_state[STORE].cohort.set_index("patient_id")
    # BL-09 died 8 Oct 2024, after the cut-off: alive at 30 Jun 2024, 1095 + 314 days
    # after diagnosis on 21 Aug 2020 (10+30+31+30+31+31+29+31+30+31+30 = 314)
    assert (cohort.loc["BL-09", "os_months"], cohort.loc["BL-09", "os_event"]) == (1409 / M, 0)
    saved_again = json.loads(at.session_state[STORE].settings.to_json())
    assert saved_again["mappings"][0]["cutoff"] == "2024-06-30"
    assert saved_again["mappings"][1]["cutoff"] is None


def test_any_patient_dates_are_shown_beside_the_derived_months(confirmed: Session) -> None:
    at = confirmed.at
    keyed(at, "trace.treated").set_value(0).run()  # BL-01
    view = next(d.value for d in at.dataframe if list(d.value.columns) == ["item", "value"])
    shown = dict(zip(view["item"], view["value"], strict=True))
    assert shown["patient"] == "BL-01" and shown["row in the file"] == "2"
    assert (shown["date of diagnosis"], shown["date of relapse"]) == ("2019-03-14", "2020-11-02")
    assert shown["EFS"] == f"{599 / M:.4f} months (599 days), event on 2020-11-02 (relapse)"
    assert (
        shown["OS"] == f"{1038 / M:.4f} months (1038 days), censored at 2022-01-15 (last contact)"
    )
    assert shown["time to blinatumomab"] == f"{98 / M:.4f} months (98 days)"


def test_identifier_flags_follow_the_mapping(confirmed: Session) -> None:
    # before the date of birth is mapped it is flagged; mapped date columns never are
    flagged = confirmed.flagged_before
    assert flagged is not None
    assert flagged["column"].tolist() == ["pool.xlsx: Date of birth"]
    # once mapped to compute age, nothing is flagged
    assert identifier_table(confirmed.at) is None


# --------------------------------------------------------------------------------------
# The pure helpers behind the page
# --------------------------------------------------------------------------------------


def treated_answers(raw: pd.DataFrame) -> Mapping:
    return (
        suggest_mapping(raw)
        .with_date_format("Date of death", "dd/mm/yyyy")
        .with_mrd_unit("mrd_eoi_pct", "percent")
        .with_mrd_limit("mrd_eoi_pct", 0.01)
        .with_column("MRD TP1 %", "mrd_day15_pct")
        .with_value("genetic_subtype", "normal karyotype", "B-other")
        .with_cutoff("2024-06-30")
    )


def test_the_column_table_round_trips_every_answer() -> None:
    raw = read_table(EXPORTS / "treated.csv")
    mapping = Mapping.from_dict({**treated_answers(raw).to_dict(), "arm": "blinatumomab"})
    table = mapping_table(list(raw.columns), mapping)
    again = mapping_from_table(
        table, mapping, time_unit=mapping.time_unit, mrd_unit=mapping.mrd_unit, arm=mapping.arm
    )
    assert again == mapping  # dates, date formats, status, cut-off, MRD answers kept
    # a status or date chosen in the table is a status or date in the mapping
    edited = table.copy()
    edited.loc[edited["file column"] == "Date of death", "becomes"] = KEEP_NAME
    changed = mapping_from_table(
        edited, mapping, time_unit=mapping.time_unit, mrd_unit=mapping.mrd_unit, arm=mapping.arm
    )
    assert "death" not in changed.dates and changed.status == "Status"
    assert changed.date_formats == mapping.date_formats and changed.cutoff == mapping.cutoff


def test_value_changes_count_suggestions_until_confirmed() -> None:
    raw = read_table(EXPORTS / "pool.xlsx")
    mapping = suggest_mapping(raw)
    review = review_mapping(raw, mapping, needs_arm=False)
    karyotype = next(g for g in value_groups(review.values) if g[0].column == "Karyotype")
    changes = value_changes(value_table(karyotype), karyotype)
    assert changes == [("normal karyotype", "B-other")]
    confirmed = mapping.with_value("genetic_subtype", "normal karyotype", "B-other")
    review = review_mapping(raw, confirmed, needs_arm=False)
    karyotype = next(g for g in value_groups(review.values) if g[0].column == "Karyotype")
    assert value_changes(value_table(karyotype), karyotype) == []
    reasons = column_reasons(list(raw.columns), confirmed, mapping, review)
    assert reasons["Karyotype"].startswith("(genetic_subtype) has values that are not recognised")


def test_a_mapping_for_another_file_is_reported_not_applied_silently() -> None:
    at = upload_exports(start())
    other = json.dumps({"columns": {"Patient code": "patient_id"}, "arm": "blinatumomab"})
    at.file_uploader(key="mapload.treated").set_value(
        ("other.json", other.encode(), "application/json")
    ).run()
    assert_clean(at)
    assert any(
        "The mapping does not fit this file" in str(w.value) and "'Patient code'" in str(w.value)
        for w in at.warning
    )
    assert "no column is mapped to patient_id" in still_needed(at)
    assert not loadable(at)
