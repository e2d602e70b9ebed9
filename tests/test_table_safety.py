"""Tables on the pages hold no live spreadsheet formula, and their built-in CSV
download is off (the app offers its own, neutralised, downloads).

A cohort whose patient_ids, an extra column's name and its values start with ``=``,
``+``, ``-`` and ``@`` is uploaded and used; every read-only table of every page is
then read back: no text cell or column name may start a formula (a number stays a
number, and a number written as text stays as written).
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pandas as pd
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from blinastudy.report.export import FORMULA_PREFIXES
from tests._apptest import APP, ROOT, STORE, TIMEOUT, assert_clean, csv_bytes
from tests._demo_result import demo_subset
from tests.test_app import PAGES

HOSTILE_IDS = ['=HYPERLINK("http://127.0.0.1:9/x","open")', "@SUM(A1)", "+1+1", "-2+3"]
COLUMN = "=cmd|' /C calc'!A0"
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def test_the_builtin_table_download_is_off() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True
    # the pinned Streamlit knows the option (an unknown one would be ignored)
    assert "client.disableDataExport" in st_config._config_options_template


def hostile_cohort() -> pd.DataFrame:
    cohort = demo_subset(40, 300)[
        ["patient_id", "arm", "efs_months", "efs_event", "os_months", "os_event", "sex"]
    ].copy()
    cohort["patient_id"] = cohort["patient_id"].astype(str)
    cohort.iloc[: len(HOSTILE_IDS), 0] = HOSTILE_IDS
    # no sex: these patients are listed in the table of patients excluded from matching
    cohort.loc[cohort.index[: len(HOSTILE_IDS)], "sex"] = None
    cohort[COLUMN] = ["=1+1", "@x"] * (len(cohort) // 2)
    return cohort


def live_formulas(frame: pd.DataFrame) -> list[Any]:
    cells = [*map(str, frame.columns), *frame.to_numpy().ravel().tolist()]
    return [
        v
        for v in cells
        if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) and not NUMBER.fullmatch(v)
    ]


def test_no_table_shows_a_live_formula() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="upload.treated").set_value(
        ("cohort.csv", csv_bytes(hostile_cohort()), "text/csv")
    ).run()
    at.button(key="use_cohort").click().run()
    assert_clean(at)
    assert set(HOSTILE_IDS) <= set(at.session_state[STORE].cohort["patient_id"])
    seen = 0
    shown_ids: set[str] = set()
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at)
        for table in [*at.dataframe, *at.table]:
            if getattr(table.proto, "editing_mode", 0):  # the mapping editors
                continue
            frame = table.value
            assert not live_formulas(frame), (page, live_formulas(frame))
            seen += 1
            if "patient_id" in frame.columns:
                shown_ids |= set(map(str, frame["patient_id"]))
    assert seen >= 5
    # the hostile patients are listed, as inert text
    assert shown_ids & {f"'{i}" for i in HOSTILE_IDS}
