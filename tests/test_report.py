"""The HTML report: one offline file with figures, tables, methods, settings and stamp."""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from blinastudy.analysis import analyze
from blinastudy.analysis.settings import Settings
from blinastudy.report.html import (
    FIGURE_TITLES,
    PATIENT_TABLES,
    headline_table,
    html_report,
    pdf_report,
    render_svgs,
    result_charts,
    result_tables,
)
from blinastudy.report.methods import methods_text
from blinastudy.report.stamp import is_demo, stamp, stamp_line
from tests._cells import num
from tests._demo_result import WHEN, demo_cohort, demo_result, demo_svgs


def test_stamp_fields() -> None:
    res = demo_result()
    st = stamp(res, when=WHEN)
    assert st == {
        "software": "BlinaStudy",
        "version": res.version,
        "cohort_hash": res.cohort_hash,
        "settings": res.settings.to_dict(),
        "date": "2025-03-14T09:26:53+00:00",
        "synthetic": True,
        "label": "Synthetic demo data",
    }
    naive = stamp(res, when=datetime(2025, 3, 14, 9, 26, 53), demo=False)
    assert naive["date"] == st["date"] and naive["synthetic"] is False and naive["label"] is None
    later = stamp(res, when=datetime(2025, 3, 14, 12, 0, tzinfo=timezone(timedelta(hours=3))))
    assert later["date"] == "2025-03-14T09:00:00+00:00"
    now = stamp(res)["date"]
    assert now.endswith("+00:00") and now[:4] >= "2025"
    assert stamp_line(st).startswith("Synthetic demo data · BlinaStudy")
    assert is_demo(res)


@pytest.fixture(scope="module")
def page() -> str:
    return html_report(demo_result(), when=WHEN, svgs=demo_svgs())


#: Figures only drawn when a check fails: the demo's hazards are proportional.
ONLY_WHEN_NEEDED = {"ph"}


def test_every_figure_is_inline_svg(page: str) -> None:
    assert set(demo_svgs()) == set(FIGURE_TITLES) - ONLY_WHEN_NEEDED  # every other figure
    assert page.count("<svg") == len(FIGURE_TITLES) - len(ONLY_WHEN_NEEDED)
    for name in set(FIGURE_TITLES) - ONLY_WHEN_NEEDED:
        assert f'<figure id="figure-{name}"><svg' in page
    assert 'id="proportional-hazards"' not in page
    assert demo_result().immortal_advice["efs"] in html.unescape(page)


def test_a_rejected_ph_test_adds_its_figure_and_section() -> None:
    res = demo_result(sweep=False)
    ep = res.endpoints["efs"]
    assert ep.ph is not None and not ep.ph.violated
    bent = dataclasses.replace(ep, ph=dataclasses.replace(ep.ph, p_value=0.01))
    changed = dataclasses.replace(res, endpoints={**res.endpoints, "efs": bent})
    figures = result_charts(changed)
    assert "ph" in figures
    page = html_report(changed, when=WHEN, svgs=render_svgs({"ph": figures["ph"]}))
    assert 'id="proportional-hazards"' in page and '<figure id="figure-ph"><svg' in page


def test_settings_stamp_methods_and_label(page: str) -> None:
    res = demo_result()
    match = re.search(r'<pre id="settings-json">(.*?)</pre>', page, re.S)
    assert match is not None
    assert Settings.from_json(html.unescape(match.group(1))) == res.settings
    assert res.settings.to_json() in page  # the JSON itself, readable in the page
    assert res.cohort_hash in page
    assert f"BlinaStudy {res.version}" in page
    assert "2025-03-14T09:26:53+00:00" in page
    assert html.escape(methods_text(res.settings, res)) in page
    assert "Synthetic demo data" in page and 'id="synthetic-label"' in page
    for warning in res.warnings:
        assert html.escape(warning) in page
    assert 'id="python-code"' in page


def test_offline_no_external_references(page: str) -> None:
    # SVG namespace names are identifiers, not references; nothing else may point outside
    stripped = re.sub(r'xmlns(:\w+)?="http://www\.w3\.org/[^"]*"', "", page)
    assert "http://" not in stripped and "https://" not in stripped
    lowered = page.lower()
    for needle in ("<script", "<link", "<img", "<iframe", "@import", "url(", "src="):
        assert needle not in lowered, needle
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_label_only_for_the_demo(page: str) -> None:
    plain = html_report(demo_result(), when=WHEN, svgs={}, demo=False)
    assert "Synthetic demo data" not in plain
    assert "<svg" not in plain  # no figures given, none rendered


def test_tables_are_escaped_and_neutralised() -> None:
    cohort = demo_cohort().copy()
    cohort.loc[0, "patient_id"] = "<b>bold</b>"
    cohort.loc[1, "patient_id"] = "=1+1"
    res = analyze(cohort, Settings(), sweep=False)
    page = html_report(res, when=WHEN, svgs={})
    assert "<b>bold</b>" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<td>&#x27;=1+1</td>" in page or "<td>'=1+1</td>" in page
    assert "<td>=1+1</td>" not in page


def test_headline_and_tables_match_the_result() -> None:
    res = demo_result()
    head = headline_table(res).set_index(["endpoint", "arm"])
    efs = res.endpoints["efs"]
    assert head.loc[("EFS", "blinatumomab"), "events"] == efs.events["blinatumomab"]
    assert head.loc[("EFS", "blinatumomab"), "hr"] == efs.hazard_ratio["hr"].iloc[0]
    assert head.loc[("OS", "blinatumomab"), "hr_method"] == "firth"
    assert np.isnan(num(head.loc[("EFS", "chemotherapy"), "hr"]))
    tables = result_tables(res)
    assert tables["forest"].equals(res.forest.reset_index(drop=True))
    assert tables["sweep"].equals(res.sweep)
    assert set(PATIENT_TABLES) - {"landmark_excluded", "time_dependent_excluded"} <= set(tables)
    assert efs.ph is not None
    assert head.loc[("EFS", "blinatumomab"), "hr_ph_p"] == efs.ph.p_value
    assert efs.rmst is not None
    assert head.loc[("EFS", "blinatumomab"), "rmst_difference"] == efs.rmst.difference
    assert head.loc[("EFS", "chemotherapy"), "rmst_months"] == efs.rmst.rmst["control"]
    assert all(isinstance(t, pd.DataFrame) for t in tables.values())


def test_charts_skip_what_has_no_data() -> None:
    res = demo_result(sweep=False)
    assert "sweep" not in result_charts(res)
    assert set(result_charts(res)) == set(FIGURE_TITLES) - {"sweep", "ph"}


def test_pdf_none_without_engine() -> None:
    assert pdf_report("<p>x</p>", chromium=None, use_weasyprint=False) is None
    assert pdf_report("<p>x</p>", chromium="/nonexistent/chromium", use_weasyprint=False) is None
