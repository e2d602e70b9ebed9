"""Command line: the exports equal analyze(), tables are neutralised, bad input exits 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pptx import Presentation

from blinastudy import cli
from blinastudy.analysis import analyze
from blinastudy.analysis.settings import Settings
from blinastudy.data.cohort import combine_cohorts, load_cohort
from blinastudy.data.mapping import Mapping
from blinastudy.report.export import FORMULA_PREFIXES
from blinastudy.report.html import FIGURE_TITLES
from tests._demo_result import demo_cohort, demo_result

ROOT = Path(__file__).resolve().parents[1]
DATE = "2025-03-14T09:26:53+00:00"


def normal(numbers: dict[str, Any]) -> Any:
    return json.loads(json.dumps(numbers, allow_nan=False))


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# ---------------------------------------------------------------------------
# the demo, in-process


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str, str]:
    folder = tmp_path_factory.mktemp("demo") / "out"
    code, out, err = run(["report", "--demo", "--out", str(folder), "--date", DATE])
    return folder, code, out, err


def test_demo_results_equal_analyze(demo_run: tuple[Path, int, str, str]) -> None:
    folder, code, out, _ = demo_run
    assert code == 0
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    st = results.pop("stamp")
    assert results == normal(demo_result().numbers())  # the caliper sweep included
    assert st["date"] == DATE
    assert st["cohort_hash"] == demo_result().cohort_hash
    assert st["version"] == demo_result().version
    assert st["synthetic"] is True and st["label"] == "Synthetic demo data"
    assert Settings.from_dict(st["settings"]) == Settings()
    assert demo_result().cohort_hash in out and "Synthetic demo data" in out


def test_demo_writes_every_export(demo_run: tuple[Path, int, str, str]) -> None:
    folder, _, out, err = demo_run
    for name in set(FIGURE_TITLES) - {"ph"}:  # the demo's hazards are proportional
        assert (folder / "figures" / f"{name}.svg").read_text(encoding="utf-8").startswith("<svg")
        assert (folder / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    for name in ("forest", "balance", "matched_pairs", "sweep", "headline", "immortal_time"):
        assert (folder / "tables" / f"{name}.csv").stat().st_size > 0
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page and demo_result().cohort_hash in page
    deck = Presentation(str(folder / "slides.pptx"))
    assert len(deck.slides) == 8
    assert Settings.from_json((folder / "settings.json").read_text(encoding="utf-8")) == Settings()
    compile((folder / "reproduce.py").read_text(encoding="utf-8"), "reproduce.py", "exec")
    pdf = folder / "report.pdf"
    if pdf.exists():
        assert pdf.read_bytes()[:5] == b"%PDF-"
    else:
        assert "report.pdf not made: no PDF engine" in err
    for line in out.splitlines()[3:]:
        assert (folder / line.strip()).exists()


def test_progress_bar_on_stderr(demo_run: tuple[Path, int, str, str]) -> None:
    _, _, out, err = demo_run
    assert "caliper sweep 0.005 SD" in err and "[###" in err
    assert err.count("caliper sweep") == len(Settings().sweep_calipers)
    assert "figure km_efs.png" in err and "slides.pptx" in err
    assert "[" not in out  # progress never goes to stdout
    assert "Traceback" not in err


# ---------------------------------------------------------------------------
# two files, a mapping, and identifiers that look like formulas


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("inject")
    cohort = demo_cohort()
    treated = cohort[cohort["arm"] == "blinatumomab"].drop(columns="arm").reset_index(drop=True)
    pool = cohort[cohort["arm"] == "chemotherapy"].drop(columns="arm").reset_index(drop=True)
    treated["patient_id"] = [
        ("=" if i % 2 == 0 else "@") + pid for i, pid in enumerate(treated["patient_id"])
    ]
    pool["patient_id"] = [
        ("+" if i % 2 == 0 else "-") + pid for i, pid in enumerate(pool["patient_id"])
    ]
    treated.loc[3, "age_years"] = float("nan")  # excluded from matching
    pool = pool.rename(columns={"efs_months": "EFS (months)"})
    treated.to_csv(folder / "treated.csv", index=False)
    pool.to_csv(folder / "pool.csv", index=False)
    mapping = Mapping(columns={"EFS (months)": "efs_months"})
    (folder / "pool_mapping.json").write_text(mapping.to_json(), encoding="utf-8")
    settings = Settings(origin="landmark", sweep_calipers=(0.05,)).update(matching__caliper=0.01)
    (folder / "settings.json").write_text(settings.to_json(), encoding="utf-8")
    out = folder / "out"
    code, stdout, err = run(
        [
            "report",
            str(folder / "treated.csv"),
            str(folder / "pool.csv"),
            "--mapping2",
            str(folder / "pool_mapping.json"),
            "--settings",
            str(folder / "settings.json"),
            "--out",
            str(out),
            "--date",
            DATE,
            "--no-pdf",
            "--quiet",
        ]
    )
    return {
        "folder": folder,
        "out": out,
        "code": code,
        "stdout": stdout,
        "stderr": err,
        "treated": treated,
        "pool": pool,
        "mapping": mapping,
        "settings": settings,
    }


def test_load_cohort_keeps_formula_like_identifiers(injected: dict[str, Any]) -> None:
    loaded = load_cohort(injected["folder"] / "treated.csv", Mapping(arm="blinatumomab"))
    assert loaded["patient_id"].tolist() == injected["treated"]["patient_id"].tolist()
    assert loaded["patient_id"].iloc[0].startswith("=")
    assert loaded["patient_id"].iloc[1].startswith("@")


def test_two_files_with_mapping_equal_analyze(injected: dict[str, Any]) -> None:
    assert injected["code"] == 0, injected["stderr"]
    assert injected["stderr"].startswith("warning:") or injected["stderr"] == ""
    folder = injected["folder"]
    combined = combine_cohorts(
        folder / "treated.csv", folder / "pool.csv", mappings=(None, injected["mapping"])
    )
    expected = analyze(combined, injected["settings"])
    results = json.loads((injected["out"] / "results.json").read_text(encoding="utf-8"))
    stamp = results.pop("stamp")
    assert results == normal(expected.numbers())
    assert stamp["synthetic"] is False and stamp["label"] is None
    assert expected.unmatched.shape[0] > 0 and expected.excluded_from_matching.shape[0] == 1


def _cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_every_csv_table_is_neutralised(injected: dict[str, Any]) -> None:
    tables = sorted((injected["out"] / "tables").glob("*.csv"))
    assert len(tables) >= 15
    for path in tables:
        for row in _cells(path):
            for cell in row:
                if cell.startswith(FORMULA_PREFIXES):
                    assert _is_number(cell), (path.name, cell)
    for name in ("unmatched", "excluded_from_matching", "landmark_excluded", "mrd_changed"):
        ids = [row[0] for row in _cells(injected["out"] / "tables" / f"{name}.csv")[1:]]
        assert ids, name
        assert all(i[:2] in ("'=", "'@", "'+", "'-") for i in ids), name
    excluded = _cells(injected["out"] / "tables" / "excluded_from_matching.csv")[1:]
    assert [row[0] for row in excluded] == ["'" + injected["treated"]["patient_id"].iloc[3]]
    pairs = _cells(injected["out"] / "tables" / "matched_pairs.csv")
    assert pairs[0] == ["treated", "control", "pair"]
    assert {row[0][:2] for row in pairs[1:]} == {"'=", "'@"}
    assert {row[1][:2] for row in pairs[1:]} == {"'+", "'-"}


def test_excluded_patients_are_listed_with_their_file_row(injected: dict[str, Any]) -> None:
    cells = _cells(injected["out"] / "tables" / "excluded_from_matching.csv")
    assert cells[0][:2] == ["patient_id", "file_row"]
    # the fourth patient of treated.csv, whose header is row 1
    assert [row[1] for row in cells[1:]] == ["5"]


def test_report_and_slides_from_files(injected: dict[str, Any]) -> None:
    page = (injected["out"] / "report.html").read_text(encoding="utf-8")
    assert "Synthetic demo data" not in page
    assert "<td>=" not in page and "<td>+" not in page and "<td>@" not in page
    assert "<td>&#x27;=BLN-" in page
    assert not (injected["out"] / "report.pdf").exists()  # --no-pdf
    assert "[" not in injected["stderr"]  # --quiet: no progress bar


# ---------------------------------------------------------------------------
# a subprocess, once


def test_subprocess_report_equals_analyze(tmp_path: Path) -> None:
    settings = Settings(endpoint="os", sweep_calipers=(0.1, 0.2)).update(matching__ratio=2)
    (tmp_path / "s.json").write_text(settings.to_json(), encoding="utf-8")
    cohort_file = ROOT / "data" / "demo_cohort.csv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "blinastudy",
            "report",
            str(cohort_file),
            "--settings",
            str(tmp_path / "s.json"),
            "--out",
            str(tmp_path / "out"),
            "--no-pdf",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    stamp = results.pop("stamp")
    expected = analyze(load_cohort(cohort_file), settings)
    assert results == normal(expected.numbers())
    assert stamp["synthetic"] is True  # the shipped CSV is the demo cohort (same content hash)
    assert "Traceback" not in proc.stderr


def test_subprocess_bad_input_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "blinastudy",
            "report",
            str(tmp_path / "missing.csv"),
            "--out",
            str(tmp_path / "x"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "missing.csv" in proc.stderr and proc.stderr.startswith("blinastudy: error: ")
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------------------
# bad input, in-process


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def bad_cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    good = str(ROOT / "data" / "demo_cohort.csv")
    broken = _write(
        tmp / "broken.csv",
        "patient_id,arm,efs_months,efs_event,os_months,os_event\n"
        "P1,blinatumomab,5,2,5,0\nP2,chemotherapy,-1,0,3,0\nP3,alien,1,0,1,0\n",
    )
    afile = _write(tmp / "afile.txt", "x")
    out = str(tmp / "out")
    return {
        "no cohort": (["report", "--out", out], "give a cohort file"),
        "cohort and demo": (["report", good, "--demo", "--out", out], "not both"),
        "missing file": (["report", str(tmp / "nope.csv"), "--out", out], "nope.csv"),
        "cohort problems": (["report", broken, "--out", out], "(and "),
        "settings not json": (
            ["report", good, "--settings", _write(tmp / "s1.json", "{nope"), "--out", out],
            "not valid JSON",
        ),
        "settings unknown key": (
            ["report", good, "--settings", _write(tmp / "s2.json", '{"colour": 1}'), "--out", out],
            "unknown key(s): colour",
        ),
        "settings bad value": (
            [
                "report",
                good,
                "--settings",
                _write(tmp / "s3.json", '{"matching": {"caliper": -1}}'),
                "--out",
                out,
            ],
            "matching.caliper",
        ),
        "settings missing": (
            ["report", good, "--settings", str(tmp / "none.json"), "--out", out],
            "file not found",
        ),
        "mapping bad": (
            ["report", good, "--mapping", _write(tmp / "m.json", "[1]"), "--out", out],
            "mapping file",
        ),
        "mapping2 without pool": (
            ["report", good, "--mapping2", afile, "--out", out],
            "--mapping2 applies",
        ),
        "out is a file": (["report", "--demo", "--out", afile], "is not a folder"),
        "bad date": (["report", "--demo", "--out", out, "--date", "yesterday"], "--date"),
        "unknown option": (["report", "--demo", "--out", out, "--colour"], "unrecognized"),
        "no out": (["report", "--demo"], "--out"),
        "no command": ([], "choose a command"),
        "unknown command": (["plot"], "invalid choice"),
        "covariate not in cohort": (
            [
                "report",
                "--demo",
                "--quiet",
                "--settings",
                _write(tmp / "s4.json", '{"matching": {"covariates": ["shoe_size"]}}'),
                "--out",
                out,
            ],
            "shoe_size",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "no cohort",
        "cohort and demo",
        "missing file",
        "cohort problems",
        "settings not json",
        "settings unknown key",
        "settings bad value",
        "settings missing",
        "mapping bad",
        "mapping2 without pool",
        "out is a file",
        "bad date",
        "unknown option",
        "no out",
        "no command",
        "unknown command",
        "covariate not in cohort",
    ],
)
def test_bad_input_exits_2_with_one_line(case: str, tmp_path: Path) -> None:
    argv, fragment = bad_cases(tmp_path)[case]
    code, out, err = run(argv)
    assert code == 2, err
    assert err.startswith("blinastudy: error: ")
    assert err.count("\n") == 1, err
    assert fragment in err
    assert out == ""


def test_help_version_and_demo_command(tmp_path: Path) -> None:
    code, _, _ = run(["--version"])
    assert code == 0
    code, _, _ = run(["report", "--help"])
    assert code == 0
    target = tmp_path / "demo.csv"
    code, _, _ = run(["demo", str(target)])
    assert code == 0
    assert load_cohort(target).equals(load_cohort(ROOT / "data" / "demo_cohort.csv"))


def test_one_line_and_progress() -> None:
    assert cli.one_line("a:\n- b\n- c\n- d") == "a: b (and 2 more)"
    assert cli.one_line("") == "unknown error"
    stream = io.StringIO()
    bar = cli.Progress(3, stream=stream, width=3)
    bar.add(-1)
    bar.step("x")
    bar.step("y")
    assert stream.getvalue().splitlines() == ["[##-] 1/2 x", "[###] 2/2 y"]


# ---------------------------------------------------------------------------
# saved analyses


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(
            endpoint="os",
            origin="landmark",
            landmark_months=9.0,
            conf_level=0.9,
            conf_type="plain",
            subgroups=("risk_group", "sex"),
            subgroup_filter=("sex", "M"),
        ).update(
            matching__caliper=0.1,
            matching__ratio=2,
            matching__exact=("risk_group",),
            mrd__threshold_pct=0.01,
        ),
    ],
    ids=["default", "non-default"],
)
def test_saved_settings_round_trip(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "saved.json"
    path.write_text(settings.to_json(), encoding="utf-8")
    reloaded = Settings.from_json(path.read_text(encoding="utf-8"))
    assert reloaded == settings
    first = analyze(demo_cohort(), settings, sweep=False).numbers()
    again = analyze(demo_cohort(), reloaded, sweep=False).numbers()
    assert normal(again) == normal(first)
    assert json.dumps(again, sort_keys=True) == json.dumps(first, sort_keys=True)


def test_any_export_reloads_the_settings(demo_run: tuple[Path, int, str, str]) -> None:
    from blinastudy.report.stamp import settings_from_saved

    folder = demo_run[0]
    for name in ("settings.json", "stamp.json", "results.json"):
        assert settings_from_saved((folder / name).read_text(encoding="utf-8")) == Settings()
    stamp = json.loads((folder / "stamp.json").read_text(encoding="utf-8"))
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert stamp == results["stamp"]


def test_console_entry_point_exits_with_main_status(monkeypatch: pytest.MonkeyPatch) -> None:
    import tomllib

    from blinastudy.cli import console

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["blinastudy"] == "blinastudy.cli:console"
    monkeypatch.setattr(sys, "argv", ["blinastudy", "report", "--out", "x"])
    with pytest.raises(SystemExit) as info:
        console()
    assert info.value.code == 2


@pytest.mark.parametrize("which", ["settings", "cohort"])
def test_pipes_and_devices_are_refused_in_one_line(tmp_path: Path, which: str) -> None:
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    args = ["report", str(ROOT / "data" / "demo_cohort.csv"), "--out", str(tmp_path / "o")]
    if which == "settings":
        args += ["--settings", str(fifo)]
    else:
        args[1] = str(fifo)
    err = io.StringIO()
    assert cli.main([*args, "--quiet", "--no-pdf"], stderr=err) == 2
    assert "is not a regular file" in err.getvalue()
    assert len(err.getvalue().strip().splitlines()) == 1
    err = io.StringIO()
    zero = ["report", "/dev/zero", "--out", str(tmp_path / "o"), "--quiet", "--no-pdf"]
    assert cli.main(zero, stderr=err) == 2 and "regular file" in err.getvalue()
