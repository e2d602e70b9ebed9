"""The smallest Streamlit page the browser benchmarks compare the app with.

One slider and one number derived from it, served by the same Streamlit as the
app: ``streamlit run benchmarks/minimal_app.py``.
"""

from __future__ import annotations

import streamlit as st

value = st.slider("Number", min_value=0, max_value=100, value=50)
st.metric("Number squared", value * value)
