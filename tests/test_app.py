"""The Streamlit app, driven headless with ``streamlit.testing.v1.AppTest``.

Every page opens on the demo cohort; uploads go through the real file uploader;
moving the caliper and MRD sliders changes the numbers on screen; bad files and
bad settings give messages, never exceptions.
"""

from __future__ import annotations

import ast
import json
import tomllib

import pytest
from streamlit.testing.v1 import AppTest

from blinastudy.analysis.settings import Settings
from blinastudy.data.demo import DEMO_LABEL, make_demo_cohort
from pages.common.ui_state import adapt_settings
from tests._apptest import (
    ROOT,
    STORE,
    assert_clean,
    csv_bytes,
    metric,
    start,
    texts,
    upload,
    upload_settings,
)
from tests._demo_result import demo_subset

PAGES = [
    "pages/data.py",
    "pages/matching.py",
    "pages/survival.py",
    "pages/mrd.py",
    "pages/subgroups.py",
    "pages/export.py",
]


# --------------------------------------------------------------------------------------
# Opening
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_on_the_demo_cohort(page: str) -> None:
    at = start(page)
    assert_clean(at)
    assert any(DEMO_LABEL in str(w.value) for w in at.sidebar.warning)
    assert at.session_state[STORE].is_demo
    assert at.title[0].value


def test_pages_show_the_expected_numbers() -> None:
    at = start("pages/matching.py")
    assert metric(at, "Matched blinatumomab patients") == "90 of 90"
    at.switch_page("pages/survival.py").run()
    assert_clean(at)
    assert metric(at, "Blinatumomab: EFS at 24 months after diagnosis") == "97.8 %"
    assert metric(at, "Hazard ratio (blina vs chemo)") == "0.083"
    assert any(str(c.value).startswith("95% CI (0.019 to 0.36)") for c in at.caption)
    at.switch_page("pages/subgroups.py").run()
    assert_clean(at)
    assert any("fewer than 5 events" in str(w.value) for w in at.warning)


# --------------------------------------------------------------------------------------
# Sliders change the numbers
# --------------------------------------------------------------------------------------


def test_caliper_slider_changes_matched_n_and_width() -> None:
    at = start("pages/matching.py")
    before_n = metric(at, "Matched blinatumomab patients")
    before_w = metric(at, "Caliper width (logit scale)")
    at.select_slider(key="w.matching__caliper").set_value(0.01).run()
    assert_clean(at)
    assert metric(at, "Matched blinatumomab patients") != before_n
    assert metric(at, "Matched blinatumomab patients") == "70 of 90"
    assert metric(at, "Caliper width (logit scale)") != before_w
    assert at.session_state[STORE].settings.matching.caliper == 0.01
    assert "20 blinatumomab patient(s) without a match" in texts(at)
    assert "= 0.007 on the logit scale (absolute width)" in texts(at)


def test_caliper_can_be_switched_off() -> None:
    at = start("pages/matching.py")
    at.toggle(key="w.matching__caliper.on").set_value(False).run()
    assert_clean(at)
    assert at.session_state[STORE].settings.matching.caliper is None
    assert metric(at, "Caliper width (logit scale)") == "no caliper"


def test_mrd_threshold_slider_changes_the_groups() -> None:
    at = start("pages/mrd.py")
    before = [(m.label, m.value) for m in at.metric]
    assert ("MRD ≥ 0.1%", "52 patients") in before
    at.select_slider(key="w.mrd__threshold_pct").set_value(1.0).run()
    assert_clean(at)
    after = [(m.label, m.value) for m in at.metric]
    assert after != before
    assert ("MRD ≥ 1%", "10 patients") in after
    assert "change group" in texts(at)
    assert any("inflates significance" in str(w.value) for w in at.warning)


def test_mrd_jump_buttons_set_the_marked_thresholds() -> None:
    at = start("pages/mrd.py")
    at.button(key="mrd_jump_0.01").click().run()
    assert_clean(at)
    assert at.session_state[STORE].settings.mrd.threshold_pct == 0.01
    assert at.select_slider(key="w.mrd__threshold_pct").value == 0.01


def test_survival_controls_and_landmark() -> None:
    at = start("pages/survival.py")
    at.radio(key="w.endpoint").set_value("os").run()
    assert_clean(at)
    assert metric(at, "Blinatumomab: OS at 24 months after diagnosis") == "100.0 %"
    assert any("Firth penalised" in str(w.value) for w in at.warning)
    at.radio(key="w.origin").set_value("landmark").run()
    assert_clean(at)
    assert any("excluded at the landmark" in e.label for e in at.expander)
    # the landmark comes from the cohort: the 75th percentile of the demo's blinatumomab
    # starts, rounded up
    assert at.session_state[STORE].settings.landmark_months == 15.0
    # 24 months after the 15-month landmark is beyond the treated arm's follow-up: said,
    # with a button for the latest month both arms reach
    label = "Blinatumomab: OS at 24 months after the landmark 15 months"
    assert metric(at, label) == "not estimated"
    assert any("is followed to 24 months after the landmark" in str(i.value) for i in at.info)
    at.button(key="nearest_horizon").click().run()
    assert at.session_state[STORE].settings.horizon_months == 19.0
    assert metric(at, "Blinatumomab: OS at 19 months after the landmark 15 months") == "100.0 %"
    at.slider(key="w.horizon_months").set_value(12.0).run()
    assert metric(at, "Blinatumomab: OS at 12 months after the landmark 15 months") == "100.0 %"


def test_survival_immortal_time_rows_and_model_checks() -> None:
    at = start("pages/survival.py")
    assert_clean(at)
    shown = [d.value for d in at.dataframe]
    immortal = next(
        t for t in shown if "analysis" in t.columns and "PH test p (cox.zph)" in t.columns
    )
    assert list(immortal["analysis"]) == [
        "From diagnosis (biased)",
        "Landmark",
        "Time-dependent exposure",
        "Time-dependent exposure, all patients",
    ]
    assert any(str(i.value).startswith("Quote the time-dependent estimate") for i in at.info)
    assert any(
        "Matching does not apply to the time-dependent analysis" in str(c.value) for c in at.caption
    )
    assert metric(at, "Proportional hazards: cox.zph p") == "0.402"
    rmst = "Restricted mean EFS to 24 months (blina − chemo)"
    assert metric(at, rmst) == "+3.06 months"
    assert any("Simon-Makuch" in e.label for e in at.expander)


# --------------------------------------------------------------------------------------
# Uploads
# --------------------------------------------------------------------------------------


def test_upload_one_file_and_analyse_it(at: AppTest) -> None:
    upload(at, "upload.treated", "cohort.csv", csv_bytes(demo_subset(40, 300)))
    assert_clean(at)
    assert any("340 patients pass every check" in str(s.value) for s in at.success)
    at.button(key="use_cohort").click().run()
    assert_clean(at)
    store = at.session_state[STORE]
    assert not store.is_demo and store.source == "cohort.csv"
    assert len(store.cohort) == 340
    assert not any(DEMO_LABEL in str(w.value) for w in at.sidebar.warning)
    at.switch_page("pages/matching.py").run()
    assert_clean(at)
    assert metric(at, "Matched blinatumomab patients").endswith("of 40")
    before = metric(at, "Matched blinatumomab patients")
    at.select_slider(key="w.matching__caliper").set_value(0.005).run()
    assert metric(at, "Matched blinatumomab patients") != before
    for page in PAGES[2:]:
        at.switch_page(page).run()
        assert_clean(at)


def test_upload_two_files_without_arm_columns() -> None:
    demo = demo_subset(40, 300)
    treated = demo[demo["arm"] == "blinatumomab"].drop(columns="arm")
    pool = demo[demo["arm"] == "chemotherapy"].drop(columns="arm")
    at = start()
    at.file_uploader(key="upload.treated").set_value(
        ("treated.csv", csv_bytes(treated), "text/csv")
    )
    at.file_uploader(key="upload.pool").set_value(("pool.csv", csv_bytes(pool), "text/csv"))
    at.run()
    assert_clean(at)
    assert any("40 blinatumomab" in str(s.value) for s in at.success)
    at.button(key="use_cohort").click().run()
    assert at.session_state[STORE].source == "treated.csv + pool.csv"


def test_upload_with_other_names_and_units_uses_the_suggested_mapping() -> None:
    demo = demo_subset(40, 300)
    frame = demo.rename(
        columns={"patient_id": "Patient ID", "efs_months": "EFS (days)", "os_months": "OS (days)"}
    )
    for col in ("EFS (days)", "OS (days)"):
        frame[col] = frame[col] * 365.25 / 12
    at = start()
    upload(at, "upload.treated", "renamed.csv", csv_bytes(frame))
    assert_clean(at)
    assert any("340 patients pass every check" in str(s.value) for s in at.success)
    assert (
        at.selectbox(key=next(k for k in _keys(at) if k.startswith("tu.treated"))).value == "days"
    )
    at.button(key="use_cohort").click().run()
    cohort = at.session_state[STORE].cohort
    assert cohort["efs_months"].round(6).tolist() == demo["efs_months"].round(6).tolist()
    assert cohort["os_months"].round(6).tolist() == demo["os_months"].round(6).tolist()


def _keys(at: AppTest) -> list[str]:
    return [str(w.key) for w in at.selectbox if w.key]


def test_bad_file_shows_the_validation_report() -> None:
    bad = b"patient_id,arm,efs_months,efs_event,os_months,os_event\nP1,blina,-3,0,5,0\nP2,chemo,4,2,4,0\n"
    at = start()
    upload(at, "upload.treated", "bad.csv", bad)
    assert_clean(at)
    assert any("bad.csv has" in str(e.value) for e in at.error)
    report = next(d.value for d in at.dataframe if "message" in d.value.columns)
    assert list(report.columns) == ["row", "column", "value", "message"]
    assert {"efs_months", "efs_event"} <= set(report["column"])
    assert not [b for b in at.button if b.key == "use_cohort"]
    assert at.session_state[STORE].is_demo


def test_unreadable_file_is_reported(at: AppTest) -> None:
    upload(at, "upload.treated", "empty.csv", b"")
    assert_clean(at)
    assert at.error


def test_identifier_columns_are_flagged_and_dropped() -> None:
    frame = demo_subset(40, 300)
    frame["Surname"] = [f"Name{i}" for i in range(len(frame))]
    at = start()
    upload(at, "upload.treated", "ids.csv", csv_bytes(frame))
    assert_clean(at)
    assert any("direct identifiers" in str(w.value) for w in at.warning)
    assert at.multiselect(key="drop_identifiers").value == ["Surname"]
    at.button(key="use_cohort").click().run()
    assert "Surname" not in at.session_state[STORE].cohort.columns


def test_mapping_json_round_trip() -> None:
    frame = demo_subset(40, 300).rename(columns={"patient_id": "PID"})
    at = start()
    upload(at, "upload.treated", "pid.csv", csv_bytes(frame))
    mapping = json.dumps({"columns": {"PID": "patient_id"}, "time_unit": "months"})
    at.file_uploader(key="mapload.treated").set_value(
        ("m.json", mapping.encode(), "application/json")
    )
    at.run()
    assert_clean(at)
    assert any("340 patients" in str(s.value) for s in at.success)
    at.file_uploader(key="mapload.treated").set_value(("m.json", b"{not json", "application/json"))
    at.run()
    assert_clean(at)
    assert any("mapping was not loaded" in str(e.value) for e in at.error)


def test_use_demo_button_returns_to_the_demo(at: AppTest) -> None:
    upload(at, "upload.treated", "cohort.csv", csv_bytes(demo_subset(40, 300)))
    at.button(key="use_cohort").click().run()
    assert not at.session_state[STORE].is_demo
    at.button(key="use_demo").click().run()
    assert at.session_state[STORE].is_demo


# --------------------------------------------------------------------------------------
# Sidebar: display modes and settings files
# --------------------------------------------------------------------------------------


def test_presentation_and_teaching_toggles() -> None:
    at = start("pages/matching.py")
    assert not any("The caliper: bias against sample size" in str(i.value) for i in at.info)
    at.sidebar.toggle(key="w.display__teaching").set_value(True).run()
    assert_clean(at)
    assert at.session_state[STORE].settings.display.teaching
    assert any("The caliper: bias against sample size" in str(i.value) for i in at.info)
    assert not at.get("html")
    at.sidebar.toggle(key="w.display__presentation").set_value(True).run()
    assert_clean(at)
    assert at.session_state[STORE].settings.display.presentation
    assert any("font-size" in str(h.proto.body) for h in at.get("html"))
    at.sidebar.toggle(key="w.display__presentation").set_value(False).run()
    assert not at.get("html")


def test_display_switches_keep_one_state_across_pages() -> None:
    at = start("pages/data.py")
    for key in ("w.display__teaching", "w.display__presentation"):
        at.sidebar.toggle(key=key).set_value(True).run()
    for page in ("pages/survival.py", "pages/matching.py", "pages/mrd.py", "pages/subgroups.py"):
        at.switch_page(page).run()
        assert_clean(at)
        for key in ("w.display__teaching", "w.display__presentation"):
            assert at.sidebar.toggle(key=key).value is True, (page, key)
    # the first click on another page takes effect
    at.sidebar.toggle(key="w.display__teaching").set_value(False).run()
    assert at.session_state[STORE].settings.display.teaching is False
    at.switch_page("pages/data.py").run()
    assert at.sidebar.toggle(key="w.display__teaching").value is False


def test_settings_save_and_load_round_trip() -> None:
    at = start("pages/matching.py")
    at.select_slider(key="w.matching__caliper").set_value(0.01).run()
    at.switch_page("pages/survival.py").run()
    at.radio(key="w.endpoint").set_value("os").run()
    assert any(
        getattr(b, "label", None) == "Save settings (JSON)"
        for b in at.sidebar.get("download_button")
    )
    saved = at.session_state[STORE].settings.to_json()
    assert Settings.from_json(saved).matching.caliper == 0.01

    fresh = start("pages/matching.py")
    assert metric(fresh, "Matched blinatumomab patients") == "90 of 90"
    upload_settings(fresh, saved.encode())
    assert_clean(fresh)
    assert fresh.session_state[STORE].settings == Settings.from_json(saved)
    assert metric(fresh, "Matched blinatumomab patients") == "70 of 90"
    assert fresh.select_slider(key="w.matching__caliper").value == 0.01


def test_bad_settings_file_is_reported(at: AppTest) -> None:
    upload_settings(at, b'{"matching": {"caliper": -1}}', "s.json")
    assert_clean(at)
    assert any("settings were not loaded" in str(e.value) for e in at.error)
    # unchanged: the defaults fitted to the demo cohort
    assert at.session_state[STORE].settings == adapt_settings(Settings(), make_demo_cohort())


# --------------------------------------------------------------------------------------
# Subgroups restrict the survival page
# --------------------------------------------------------------------------------------


def test_subgroup_choice_filters_the_survival_page() -> None:
    at = start("pages/subgroups.py")
    options = at.selectbox(key="forest_choice").options
    row = options.index("Risk group = HR") + 1  # row 0 of the forest is "Overall"
    at.selectbox(key="forest_choice").set_value(row)
    at.button(key="apply_subgroup").click().run()
    assert_clean(at)
    flt = at.session_state[STORE].settings.subgroup_filter
    assert flt is not None and flt[0] == "risk_group"
    at.switch_page("pages/survival.py").run()
    assert_clean(at)
    assert any("Restricted to" in str(i.value) for i in at.info)
    n_filtered = metric(at, "Blinatumomab: EFS at 24 months after diagnosis")
    at.button(key="clear_filter").click().run()
    assert at.session_state[STORE].settings.subgroup_filter is None
    assert not any("Restricted to" in str(i.value) for i in at.info)
    assert metric(at, "Blinatumomab: EFS at 24 months after diagnosis") != n_filtered


# --------------------------------------------------------------------------------------
# Safety
# --------------------------------------------------------------------------------------


def test_unexpected_error_shows_an_id_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from blinastudy.report import charts

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("patient BLN-001 value 19.58")

    monkeypatch.setattr(charts, "km_chart", boom)
    at = start("pages/survival.py")
    assert not at.exception
    shown = texts(at)
    assert "error id" in shown
    assert "BLN-001" not in shown and "19.58" not in shown and "Traceback" not in shown


def test_pages_compute_no_statistics_themselves() -> None:
    banned = {"lifelines", "sklearn", "scipy", "statsmodels"}
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in banned, f"{path.name} imports {name}"


def test_streamlit_config_is_private_and_safe() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "none"
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["maxUploadSize"] == 50
    assert config["logger"]["level"] == "warning"
    # loopback only, known hosts, small messages, sessions dropped soon after closing
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["allowedHosts"] == ["localhost", "127.0.0.1"]
    assert config["server"]["maxMessageSize"] <= 50
    assert config["server"]["disconnectedSessionTTL"] <= 120


def test_failing_callback_shows_an_id_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from pages.common import ui

    at = start("pages/matching.py")

    def boom(**changes: object) -> bool:
        raise RuntimeError("patient BLN-001 value 19.58")

    monkeypatch.setattr(ui, "update_settings", boom)
    at.select_slider(key="w.matching__caliper").set_value(0.01).run()
    assert not at.exception
    shown = texts(at)
    assert "could not be applied" in shown and "error id" in shown
    assert "BLN-001" not in shown and "19.58" not in shown


def test_a_minimal_cohort_works_on_every_page() -> None:
    demo = demo_subset(40, 300)
    minimal = demo[
        ["patient_id", "arm", "efs_months", "efs_event", "os_months", "os_event", "sex"]
    ].assign(site=["A", "B"] * (len(demo) // 2))
    at = start()
    upload(at, "upload.treated", "minimal.csv", csv_bytes(minimal))
    at.button(key="use_cohort").click().run()
    assert_clean(at)
    settings = at.session_state[STORE].settings
    assert settings.matching.covariates == ("sex",)
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at)
    assert any(
        "no mrd_eoi_pct column" in str(i.value) for i in at.switch_page("pages/mrd.py").run().info
    )
    at.switch_page("pages/subgroups.py").run()
    assert "site" in at.multiselect(key="w.subgroups").options


def test_a_filter_that_stops_matching_anyone_is_removed() -> None:
    at = start("pages/subgroups.py")
    options = at.selectbox(key="forest_choice").options
    at.selectbox(key="forest_choice").set_value(
        options.index("MRD group (current threshold) = MRD ≥ 0.1%") + 1
    )
    at.button(key="apply_subgroup").click().run()
    assert at.session_state[STORE].settings.subgroup_filter == ("mrd_group", "MRD ≥ 0.1%")
    at.switch_page("pages/mrd.py").run()
    at.select_slider(key="w.mrd__threshold_pct").set_value(1.0).run()
    assert_clean(at)
    assert not at.error
    assert any("no longer matches any patient" in str(w.value) for w in at.warning)
    assert at.session_state[STORE].settings.subgroup_filter is None


def test_identifiers_are_flagged_even_when_the_file_has_problems() -> None:
    frame = demo_subset(40, 300)
    frame["Date of birth"] = "2015-03-02"
    frame.loc[0, "efs_months"] = -1
    at = start()
    upload(at, "upload.treated", "dob.csv", csv_bytes(frame))
    assert_clean(at)
    assert any("direct identifiers" in str(w.value) for w in at.warning)
    assert any("dob.csv has" in str(e.value) for e in at.error)
    assert not [b for b in at.button if b.key == "use_cohort"]


def test_restriction_does_not_change_the_matching_page() -> None:
    at = start("pages/matching.py")
    unrestricted = metric(at, "EFS hazard ratio")
    at.session_state[STORE].settings = at.session_state[STORE].settings.update(
        subgroup_filter=("risk_group", "HR")
    )
    at.run()
    assert_clean(at)
    assert metric(at, "EFS hazard ratio") == unrestricted
    at.switch_page("pages/survival.py").run()
    assert any("the Matching, MRD and Subgroups pages still use" in str(i.value) for i in at.info)
    assert any("restricted to CCLG-ALL-2018 risk group = HR" in str(c.value) for c in at.caption)


def test_eligible_pool_is_chosen_on_the_matching_page() -> None:
    at = start("pages/matching.py")
    assert at.multiselect(key="w.eligibility__risk_groups").value == ["IR", "HR"]
    assert "Patient flow" in [h.value for h in at.subheader]
    at.multiselect(key="w.eligibility__risk_groups").set_value(["HR"]).run()
    assert_clean(at)
    assert at.session_state[STORE].settings.eligibility.risk_groups == ("HR",)
    res = at.session_state[STORE]
    assert res.settings.eligibility.applies_to == "pool"
    # nothing chosen: any risk group
    at.multiselect(key="w.eligibility__risk_groups").set_value([]).run()
    assert at.session_state[STORE].settings.eligibility.risk_groups is None
    at.number_input(key="eligibility_age_low").set_value(1.0).run()
    assert_clean(at)
    assert at.session_state[STORE].settings.eligibility.age_low == 1.0


def test_cumulative_incidence_on_every_page() -> None:
    at = start("pages/survival.py")
    at.radio(key="w.endpoint").set_value("cir").run()
    assert_clean(at)
    assert metric(at, "Blinatumomab: CIR at 24 months") == "2.2 %"
    assert metric(at, "Gray's test p") == "< 0.001"
    assert "Subdistribution HR (Fine-Gray)" in [m.label for m in at.metric]
    assert "Cause-specific HR" in [m.label for m in at.metric]
    assert any("Aalen-Johansen" in str(c.value) for c in at.caption)
    at.toggle(key="show_competing").set_value(True).run()
    assert_clean(at)
    at.radio(key="w.endpoint").set_value("trm").run()
    assert_clean(at)
    assert metric(at, "Blinatumomab: TRM at 24 months") == "0.0 %"
    at.switch_page("pages/mrd.py").run()
    assert_clean(at)
    assert "incidence at 24 months" in texts(at) or at.dataframe
    at.switch_page("pages/subgroups.py").run()
    assert_clean(at)


def test_weighting_instead_of_matching() -> None:
    at = start("pages/matching.py")
    at.radio(key="method_choice").set_value("weighted").run()
    assert_clean(at)
    assert at.session_state[STORE].settings.population == "weighted"
    assert metric(at, "Estimand") == "ATT"
    assert metric(at, "Blinatumomab: effective sample size") == "90.0 of 90"
    at.radio(key="w.weighting__estimand").set_value("ATO").run()
    assert_clean(at)
    assert metric(at, "Estimand") == "ATO"
    at.switch_page("pages/survival.py").run()
    assert_clean(at)
    assert "One question, four estimates (EFS hazard ratio)" in [h.value for h in at.subheader]
    assert any("weighted for the ATO" in str(c.value) for c in at.caption)
    at.switch_page("pages/mrd.py").run()
    assert_clean(at)
    assert "Maximally selected cut-point" in [m.label for m in at.metric]


# --------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------


def test_export_page_makes_the_command_line_files() -> None:
    from datetime import datetime

    from blinastudy.analysis import analyze
    from blinastudy.report.bundle import build_bundle

    at = start("pages/export.py")
    assert_clean(at)
    assert "python -m blinastudy report" in texts(at)
    at.button(key="export.make").click().run()
    assert_clean(at)
    _, bundle = at.session_state["export_bundle"]
    settings = at.session_state[STORE].settings
    assert "Ready:" in texts(at) and "Synthetic demo data" in texts(at)
    # the same files, byte for byte, as the command line's for these settings and date
    when = datetime.fromisoformat(bundle.stamp["date"])
    expected = build_bundle(analyze(make_demo_cohort(), settings), when=when, chromium=None)
    assert list(bundle.files) == list(expected.files)
    for name, data in expected.files.items():
        assert bundle.files[name] == data, name
    assert "figures/km_efs.svg" in bundle.files and "slides.pptx" in bundle.files
    # a change of settings makes the exports stale until made again
    at.switch_page("pages/survival.py").run()
    at.radio(key="w.endpoint").set_value("os").run()
    at.switch_page("pages/export.py").run()
    assert "changed since the exports were made" in texts(at)


def test_reference_proxy_configuration_has_tls_login_headers_and_closed_metrics() -> None:
    conf = (ROOT / "docs" / "deploy" / "nginx.conf").read_text()
    for directive in (
        "listen 443 ssl",
        "ssl_certificate ",
        "auth_basic ",
        "add_header Content-Security-Policy",
        'add_header X-Frame-Options "DENY"',
        'add_header Referrer-Policy "no-referrer"',
        "location /_stcore/metrics",
        "proxy_pass http://blinastudy",
        "proxy_set_header Upgrade $http_upgrade",
        "server 127.0.0.1:8501",
        "return 301 https://",
    ):
        assert directive in conf, directive
    # the metrics endpoint returns 404, never reaching Streamlit
    block = conf.split("location /_stcore/metrics", 1)[1].split("}", 1)[0]
    assert "return 404" in block
    assert conf.count("{") == conf.count("}")
