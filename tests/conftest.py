"""Test-wide settings and fixtures.

Hypothesis runs derandomised, so every run (and CI) checks the same examples. The
fixtures give the demo cohort (``cohort``, one per module), a fresh headless app
(``at``), and for the browser tests one real server (``server``, its URL) and one
Chromium page (``browser_page``) per module. Plain helpers live beside this file:
``_apptest`` (driving the app with AppTest), ``_browser`` (driving it in Chromium),
``_demo_result`` (demo cohorts and results), ``_reference`` (comparing with R).
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from hypothesis import settings
from playwright.sync_api import Page
from streamlit.testing.v1 import AppTest

from blinastudy.data.demo import make_demo_cohort
from tests._apptest import start
from tests._browser import OUT, chromium_page
from tests._server import streamlit_server

settings.register_profile("blinastudy", derandomize=True, print_blob=True)
settings.load_profile("blinastudy")


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    """The synthetic demo cohort, made afresh for each test module."""
    return make_demo_cohort()


@pytest.fixture
def at() -> AppTest:
    """A fresh session of the app, run once on its home page (the demo cohort)."""
    return start()


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a ``streamlit run app.py`` server for this test module.

    Its log is ``test-output/streamlit-<module>.log`` (``test_e2e_mapping`` gives
    ``streamlit-e2e-mapping.log``).
    """
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    with streamlit_server(OUT / f"streamlit-{name}.log") as running:
        yield running.url


@pytest.fixture(scope="module")
def browser_page(server: str) -> Iterator[Page]:
    """One headless Chromium page for this test module (the server is started first)."""
    with chromium_page() as page:
        yield page
