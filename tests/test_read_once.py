"""An upload is parsed once per session.

The mapping review reads the file as it is; the validation and the cohort the analysis
uses are built from that table, not by reading the file again. The reader every file
format goes through (``blinastudy.data.cohort._read``) is wrapped with a counter while
the app runs headless from the upload to an analysis page.
"""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import blinastudy.data.cohort as cohort_module
from tests._apptest import APP, STORE, TIMEOUT, assert_clean, csv_bytes
from tests._demo_result import demo_subset


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every file the loader parses while the test runs."""
    seen: list[str] = []
    real = cohort_module._read

    def counted(source: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(getattr(source, "name", source)))
        return real(source, *args, **kwargs)

    monkeypatch.setattr(cohort_module, "_read", counted)
    return seen


def _to_analysis(at: AppTest) -> AppTest:
    """Rerun the page, use the cohort and open the survival page (its analysis runs)."""
    at.run()
    assert_clean(at)
    at.button(key="use_cohort").click().run()
    assert_clean(at)
    at.switch_page("pages/survival.py").run()
    assert_clean(at)
    assert not at.session_state[STORE].is_demo
    return at


def test_one_upload_is_parsed_once_through_to_the_analysis(reads: list[str]) -> None:
    cohort = demo_subset(30, 150, "ONCE")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="upload.treated").set_value(
        ("once.csv", csv_bytes(cohort), "text/csv")
    ).run()
    assert any("180 patients pass every check" in str(s.value) for s in at.success)
    _to_analysis(at)
    assert len(at.session_state[STORE].cohort) == 180
    assert reads == ["once.csv"]


def test_a_treated_file_and_a_pool_are_parsed_once_each(reads: list[str]) -> None:
    both = demo_subset(25, 140, "PAIR")
    treated = both[both["arm"] == "blinatumomab"].drop(columns="arm")
    pool = both[both["arm"] == "chemotherapy"].drop(columns="arm")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="upload.treated").set_value(
        ("treated.csv", csv_bytes(treated), "text/csv")
    ).run()
    at.file_uploader(key="upload.pool").set_value(("pool.csv", csv_bytes(pool), "text/csv")).run()
    assert any("165 patients pass every check" in str(s.value) for s in at.success)
    _to_analysis(at)
    assert at.session_state[STORE].cohort["arm"].value_counts().to_dict() == {
        "chemotherapy": 140,
        "blinatumomab": 25,
    }
    assert sorted(reads) == ["pool.csv", "treated.csv"]
