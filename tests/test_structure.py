"""The shape of the code: the complexity limit, and which functions may still exceed it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Functions above the complexity limit today. Split one and remove it here; never add.
OVER_THE_LIMIT = {
    "cohort.py": {"_read_bytes"},
    "schema.py": {"row_rules"},
    "coxph.py": {"_newton", "cox_fit"},
}


def test_complexity_limit_is_enforced_by_ruff() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lint = config["tool"]["ruff"]["lint"]
    assert "C90" in lint["select"]
    assert lint["mccabe"]["max-complexity"] == 15


def test_the_list_of_complex_functions_only_shrinks() -> None:
    found: dict[str, set[str]] = {}
    pattern = re.compile(r"def (\w+)\(.*# noqa: C901")
    for path in sorted((ROOT / "blinastudy").rglob("*.py")):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = pattern.search(line)
            if match:
                found.setdefault(path.name, set()).add(match.group(1))
    for name, functions in found.items():
        assert functions <= OVER_THE_LIMIT.get(name, set()), (
            f"{name}: {sorted(functions - OVER_THE_LIMIT.get(name, set()))} newly exempt from the "
            "complexity limit: split the function instead"
        )
    exempt = sum(len(v) for v in found.values())
    assert exempt <= sum(len(v) for v in OVER_THE_LIMIT.values())
