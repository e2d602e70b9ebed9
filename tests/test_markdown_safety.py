"""File names, column names, values and error texts are shown literally, never as Markdown.

:func:`blinastudy.report.mdtext.md_text` is checked as a function (it round-trips and leaves no
mark that starts markup), then the app is driven headless with a cohort whose file
name, a column name and that column's levels hold an image and a link: every string
the app hands to Streamlit's Markdown (bodies, labels, help, radio options) must be
free of them. The browser test in ``tests/test_e2e_markdown.py`` checks what Chromium
fetches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from blinastudy.report.mdtext import WORD_JOINER, md_text
from blinastudy.settings import Settings
from tests._apptest import APP, STORE, TIMEOUT, assert_clean, csv_bytes, upload_settings
from tests._demo_result import demo_subset

HOST = "http://127.0.0.1:9"
IMAGE = f"![x]({HOST}/leak)"
LINK = f"[click]({HOST}/click)"
COLUMN = f"site {IMAGE} {LINK}"
LEVELS = (f"A {IMAGE}", f"B {LINK} :red[red] $x$ <b>b</b>")
FILE = f"cohort {IMAGE}.csv"

# The characters hypothesis draws from: every mark Markdown or Streamlit reads, letters,
# digits, spaces, line breaks and a few non-ASCII letters.
ALPHABET = st.sampled_from(list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \n\tabwhtpm019éμ≥"))


def _unescape(markdown: str) -> str:
    """The text ``md_text`` was given: drop the escaping backslashes and the joiners."""
    return re.sub(r"\\(.)", r"\1", markdown, flags=re.S).replace(WORD_JOINER, "")


def _unescaped_marks(markdown: str) -> str:
    """What is left when every backslash escape is removed: the marks that still act."""
    return re.sub(r"\\.", "", markdown, flags=re.S)


@given(st.text(ALPHABET, max_size=40))
def test_md_text_round_trips(text: str) -> None:
    assert _unescape(md_text(text)) == text


@given(st.text(ALPHABET, max_size=40))
def test_md_text_leaves_no_active_mark(text: str) -> None:
    markdown = md_text(text)
    live = _unescaped_marks(markdown)
    assert not set(live) & set("`*~[]<>&$|\\")
    assert "://" not in live
    assert "www." not in live.lower()
    assert "@" not in live.replace(WORD_JOINER + "@", "")
    assert not re.search(r":[\w+-]", live)
    assert not re.search(r"(?<![^\W_])_|_(?![^\W_])", live)
    for line in markdown.split("\n"):
        assert not re.match(r"[ \t]*([-+=#>]|\d+[.)]([ \t]|$))", line), line


def test_md_text_examples() -> None:
    assert md_text(IMAGE) == f"!\\[x\\](http:{WORD_JOINER}//127.0.0.1:{WORD_JOINER}9/leak)"
    assert md_text("mrd_eoi_pct (%): 0.1") == "mrd_eoi_pct (%): 0.1"
    assert md_text("# title\n2) two") == "\\# title\n2\\) two"


# --------------------------------------------------------------------------------------
# The app: every Markdown string it draws
# --------------------------------------------------------------------------------------

#: Proto fields Streamlit renders as Markdown (a radio's options too, a selectbox's not).
MARKDOWN_FIELDS = {"body", "label", "help", "caption"}


def _strings(message: Any, radio: bool) -> Iterator[str]:
    for desc, value in message.ListFields():
        if desc.message_type is not None:
            items = value if getattr(desc, "is_repeated", False) else [value]
            for item in items:
                yield from _strings(item, radio)
        elif desc.name in MARKDOWN_FIELDS or (radio and desc.name == "options"):
            yield from ([value] if isinstance(value, str) else [str(v) for v in value])


def markdown_strings(at: AppTest) -> list[str]:
    """Every string of the element tree that Streamlit renders as Markdown."""
    out: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        kind = type(node).__name__
        if proto is not None and hasattr(proto, "ListFields") and kind != "Dataframe":
            out.extend(_strings(proto, radio=kind == "Radio"))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


def assert_inert(at: AppTest) -> list[str]:
    found = markdown_strings(at)
    bad = [
        s for s in found if re.search(r"(?<!\\)\]\(", s) or HOST in s or "<b>" in s or ":red[" in s
    ]
    assert not bad, bad
    return found


def hostile_cohort() -> pd.DataFrame:
    demo = demo_subset(40, 300)
    columns = ["patient_id", "arm", "efs_months", "efs_event", "os_months", "os_event", "sex"]
    minimal = demo[columns]
    return minimal.assign(**{COLUMN: [LEVELS[i % 2] for i in range(len(demo))]})


def test_hostile_names_and_values_are_shown_literally_on_every_page() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="upload.treated").set_value(
        (FILE, csv_bytes(hostile_cohort()), "text/csv")
    ).run()
    assert_clean(at)
    shown = assert_inert(at)
    assert any("leak" in s and "cohort" in s for s in shown)  # the file name is shown
    assert any("site" in s and "leak" in s for s in shown)  # and the column name
    at.button(key="use_cohort").click().run()
    assert_clean(at)
    assert_inert(at)
    assert COLUMN in at.session_state[STORE].cohort.columns
    at.switch_page("pages/subgroups.py").run()
    at.multiselect(key="w.subgroups").set_value([COLUMN]).run()
    assert_clean(at)
    at.selectbox(key="forest_choice").set_value(1)  # the first level (row 0 is Overall)
    at.button(key="apply_subgroup").click().run()
    assert_clean(at)
    variable, level = at.session_state[STORE].settings.subgroup_filter
    assert (variable, level in LEVELS) == (COLUMN, True)
    shown = assert_inert(at)
    assert any("restricted to" in s and "leak" in s for s in shown)
    for page in ("pages/survival.py", "pages/matching.py", "pages/mrd.py", "pages/data.py"):
        at.switch_page(page).run()
        assert_clean(at)
        assert_inert(at)


def test_a_hostile_settings_file_name_and_error_are_shown_literally() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    good = Settings().to_json().encode()
    upload_settings(at, good, f"s {IMAGE}.json")
    assert_clean(at)
    shown = assert_inert(at)
    assert any(s.startswith("Settings loaded from s ") for s in shown)
    bad = json.dumps({"population": LINK}).encode()
    upload_settings(at, bad, f"t {LINK}.json")
    assert_clean(at)
    shown = assert_inert(at)
    assert any(s.startswith("Those settings were not loaded") for s in shown)
