"""BlinaStudy app: the router over the pages in ``pages/``.

Run with ``streamlit run app.py``. The session's cohort (the synthetic demo
cohort until the user uploads one) and its :class:`~blinastudy.analysis.settings.Settings`
live in ``st.session_state`` (see :mod:`pages.common.ui`); each file in ``pages/``
draws one page, with the shared sidebar, from the cached
:func:`blinastudy.analysis.analyze` result.
"""

from __future__ import annotations

import streamlit as st

from pages.common.ui import guard

st.set_page_config(
    page_title="BlinaStudy",
    # An emoji favicon is drawn in the browser; a :material: one is fetched from
    # fonts.gstatic.com, and the app must not call any host but its own.
    page_icon="📈",
    layout="wide",
    menu_items={"About": "BlinaStudy: propensity-matched survival analysis for paediatric B-ALL."},
)

PAGES = [
    st.Page("pages/data.py", title="Data", icon=":material/table_view:", default=True),
    st.Page("pages/matching.py", title="Matching", icon=":material/join_inner:"),
    st.Page("pages/survival.py", title="Survival", icon=":material/show_chart:"),
    st.Page("pages/mrd.py", title="MRD", icon=":material/biotech:"),
    st.Page("pages/subgroups.py", title="Subgroups", icon=":material/forest:"),
    st.Page("pages/export.py", title="Export", icon=":material/file_export:"),
]

page = st.navigation(PAGES)
# Each page's render() sets the server-wide protections (uploads in memory, memory
# return) and runs the page within its file-reading budget.
with guard():
    page.run()
