"""The generated reproduction script runs and gives analyze()'s numbers exactly."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from blinastudy.analysis import analyze
from blinastudy.analysis.settings import Settings
from blinastudy.data.cohort import combine_cohorts
from blinastudy.data.mapping import Mapping
from blinastudy.report.codegen import show_code
from tests._demo_result import demo_cohort, demo_result


def run(code: str) -> tuple[dict[str, Any], str]:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "reproduce.py", "exec"), namespace)
    return namespace, out.getvalue()


def test_default_script_reproduces_the_demo_analysis() -> None:
    res = demo_result()
    code = show_code(res.settings, cohort_hash=res.cohort_hash)
    ns, printed = run(code)
    assert ns["numbers"] == res.numbers()
    assert "step-by-step numbers equal analyze()" in printed
    assert "warning: this is not the cohort" not in printed
    assert res.cohort_hash in printed
    hr = res.endpoints["efs"].hazard_ratio
    assert float(ns["hr"]["hr"].iloc[0]) == pytest.approx(float(hr["hr"].iloc[0]), rel=1e-12)


def test_script_writes_the_actual_option_values() -> None:
    s = Settings(conf_level=0.9, conf_type="plain", horizon_months=36.0).update(
        matching__caliper=0.05,
        matching__scale="ps",
        matching__ratio=2,
        matching__order="random",
        matching__random_state=11,
        matching__exact=("risk_group",),
    )
    code = show_code(s)
    for text in (
        "caliper=0.05,",
        'scale="ps",',
        "ratio=2,",
        'order="random",',
        "random_state=11,",
        'exact = ["risk_group"]',
        'cluster="pair",',
        "conf_level=0.9",
        'conf_type="plain"',
        "survival_at(km[arm], 36.0)",
    ):
        assert text in code, text
    assert Settings.from_json(code.split('SETTINGS_JSON = """')[1].split('"""')[0]) == s


def test_hash_mismatch_is_reported() -> None:
    code = show_code(Settings(), cohort_hash="0" * 64, sweep=False)
    _, printed = run(code)
    assert "warning: this is not the cohort the settings were saved with" in printed


@pytest.mark.parametrize(
    "settings",
    [
        Settings(origin="landmark", endpoint="os", subgroup_filter=("risk_group", "HR")).update(
            matching__ratio=2, matching__exact=("risk_group",)
        ),
        Settings(population="all", conf_level=0.9, conf_type="log").update(
            matching__caliper=None, matching__scale="ps"
        ),
        Settings(landmark_months=6.0, origin="landmark").update(
            matching__replace=True, matching__ratio=2, matching__order="smallest"
        ),
        Settings(population="weighted", endpoint="cir").update(
            weighting__estimand="ATE", weighting__stabilize=True
        ),
    ],
    ids=[
        "landmark-os-1:2-exact-filter",
        "all-patients-ps-no-caliper",
        "replacement",
        "weighted-ate-cir",
    ],
)
def test_variants_reproduce_exactly(settings: Settings) -> None:
    ns, printed = run(show_code(settings, sweep=False))
    assert ns["numbers"] == analyze(demo_cohort(), settings, sweep=False).numbers()
    assert "step-by-step numbers equal analyze()" in printed
    code = show_code(settings)
    assert "td_fit = cox_fit(" in code and "mantel_byar = logrank(" in code
    if settings.population == "weighted":
        assert 'estimand="ATE", stabilize=True' in code
        assert 'cluster=split["_row"]' in code  # robust by patient
    elif settings.population == "all":
        assert "cluster=None," in code
    elif settings.matching.replace:
        # reused controls: Austin and Cafri's variance (set and patient), forest by patient
        assert "fit = austin_cafri(" in code
        assert 'cluster="_patient",' in code
    else:
        assert 'strata=sample["pair"]' in code  # log-rank stratified by matched set
    if settings.origin == "landmark":
        assert f"landmark = {settings.landmark_months!r}" in code


def test_script_from_files_with_mappings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cohort = demo_cohort()
    treated = cohort[cohort["arm"] == "blinatumomab"].drop(columns="arm")
    pool = cohort[cohort["arm"] == "chemotherapy"].rename(columns={"efs_months": "EFS (months)"})
    treated.to_csv(tmp_path / "treated.csv", index=False)
    pool.to_csv(tmp_path / "pool.csv", index=False)
    pool_mapping = Mapping(columns={"EFS (months)": "efs_months"})
    (tmp_path / "pool_mapping.json").write_text(pool_mapping.to_json(), encoding="utf-8")
    settings = Settings(mappings=(Mapping().to_dict(),))
    code = show_code(
        settings,
        cohort_path="treated.csv",
        pool_path="pool.csv",
        mapping_paths=(None, "pool_mapping.json"),
        sweep=False,
    )
    assert "mapping_treated = Mapping.from_dict(settings.mappings[0])" in code
    assert 'Mapping.from_json(Path("pool_mapping.json")' in code
    monkeypatch.chdir(tmp_path)
    ns, printed = run(code)
    combined = combine_cohorts("treated.csv", "pool.csv", mappings=(Mapping(), pool_mapping))
    expected = analyze(combined, settings, sweep=False)
    assert ns["numbers"] == expected.numbers()
    assert "step-by-step numbers equal analyze()" in printed
    assert os.getcwd() == str(tmp_path)


def test_single_file_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo_cohort().to_csv(tmp_path / "cohort.csv", index=False)
    code = show_code(Settings(), cohort_path="cohort.csv", sweep=False)
    assert 'cohort = load_cohort("cohort.csv", mapping)' in code
    assert "mapping = None" in code
    monkeypatch.chdir(tmp_path)
    ns, _ = run(code)
    assert isinstance(ns["cohort"], pd.DataFrame)
    assert ns["result"].cohort_hash == demo_result().cohort_hash  # same content as the demo
    assert ns["numbers"]["endpoints"] == demo_result().numbers()["endpoints"]
