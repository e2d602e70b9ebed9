"""Sessions never see each other's data: the analysis cache is per session.

Two AppTest sessions in one process share Streamlit's cache storage, as browser
sessions on one server do. Each uploads a different cohort and must see only its
own numbers, even when both cohorts are forced to the same cache key.
"""

from __future__ import annotations

import ast
import inspect

import pandas as pd
import pytest
from streamlit.runtime.caching import cache_data_api
from streamlit.testing.v1 import AppTest

from blinastudy.analysis.settings import Settings
from blinastudy.analysis.stepcache import StepCache
from blinastudy.data.cohort import content_hash
from pages.common import ui
from pages.common.ui_state import analysis_key
from tests._apptest import MATCHED, ROOT, STORE, csv_bytes, metric, start, upload
from tests._cells import num
from tests._demo_result import demo_subset

pytestmark = pytest.mark.browser  # several full app sessions: slow


def _session(cohort: pd.DataFrame, name: str) -> AppTest:
    at = upload(start(), "upload.treated", name, csv_bytes(cohort))
    at.button(key="use_cohort").click().run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("pages/matching.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown(at: AppTest) -> str:
    parts = [
        str(e.value)
        for kind in ("markdown", "caption", "info", "warning", "error", "success")
        for e in getattr(at, kind)
    ]
    parts += [f"{m.label}: {m.value}" for m in at.metric]
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(parts)


def test_two_sessions_see_only_their_own_cohort() -> None:
    a = _session(demo_subset(40, 300, "ALPHA"), "alpha.csv")
    b = _session(demo_subset(25, 200, "BRAVO"), "bravo.csv")
    assert metric(a, MATCHED).endswith("of 40") and metric(b, MATCHED).endswith("of 25")
    # Both sessions rerun after the other one computed: each still sees its own.
    for at, own, other, n in ((a, "ALPHA", "BRAVO", 40), (b, "BRAVO", "ALPHA", 25)):
        at.switch_page("pages/data.py").run()
        at.switch_page("pages/matching.py").run()
        assert not at.exception
        assert metric(at, MATCHED).endswith(f"of {n}")
        store = at.session_state[STORE]
        assert len(store.cohort) == {40: 340, 25: 225}[n]
        assert store.cohort["patient_id"].str.startswith(own).all()
        assert other not in _shown(at)
        assert f"{other.lower()}.csv" not in _shown(at)


def test_same_cache_key_in_two_sessions_never_shares_a_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Even two different cohorts under one cache key stay apart across sessions.

    (AppTest gives every instance the same session id, so this is checked on the
    cached function itself, with the session id Streamlit's cache reads swapped.)
    """
    session = {"id": "session-one"}
    monkeypatch.setattr(cache_data_api, "get_session_id_or_throw", lambda: session["id"])
    one, two = demo_subset(40, 300, "ALPHA"), demo_subset(25, 200, "BRAVO")
    key = analysis_key(Settings())
    steps = {"session-one": StepCache(), "session-two": StepCache()}  # one per session
    try:
        assert (
            ui._analysis("same-key", key, None, one, steps["session-one"]).n["blinatumomab"] == 40
        )
        session["id"] = "session-two"
        assert (
            ui._analysis("same-key", key, None, two, steps["session-two"]).n["blinatumomab"] == 25
        )
        session["id"] = "session-one"
        # its own entry
        assert (
            ui._analysis("same-key", key, None, two, steps["session-one"]).n["blinatumomab"] == 40
        )
    finally:
        for sid in ("session-one", "session-two"):
            session["id"] = sid
            ui._analysis.clear()


def test_analysis_caches_are_session_scoped_and_keyed_by_content() -> None:
    for info in (ui._analysis._info, ui._sweep._info):
        assert isinstance(info, cache_data_api.CachedDataFuncInfo)
        assert info.scope == "session"
        assert info.persist is None  # memory only, never on disk
        assert info.max_entries is not None  # bounded memory per session
    params = list(inspect.signature(ui._analysis).parameters)[:4]
    # hashed: the cohort's content hash, the settings and the parts asked for
    assert params == ["cohort_key", "settings_json", "parts", "_cohort"]
    # The key is the content hash: one changed cell changes it.
    cohort = demo_subset(5, 10, "X")
    changed = cohort.copy()
    changed.loc[3, "age_years"] = num(changed.loc[3, "age_years"]) + 0.1
    assert content_hash(cohort) != content_hash(changed)
    renamed = cohort.copy()
    renamed.loc[0, "patient_id"] = "Y-0000"
    assert content_hash(cohort) != content_hash(renamed)


def test_every_cache_of_the_app_is_per_session_and_in_memory() -> None:
    """Only the synthetic demo cohort may be cached across sessions."""
    shared_ok = {"_demo_cohort"}
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            for deco in node.decorator_list:
                text = ast.unparse(deco)
                assert "cache_resource" not in text, f"{path.name}:{node.name}"
                assert "persist" not in text, f"{path.name}:{node.name}"
                if "cache_data" in text and node.name not in shared_ok:
                    assert "scope='session'" in text, f"{path.name}:{node.name} is shared"
