"""The layers of the code, checked on every import (including imports inside functions).

``blinastudy`` is layered: ``core`` (errors, input checks, number formatting) <- ``data``
(the data dictionary, readers, mapping, demo cohort) <- ``stats`` (estimators) <-
``analysis`` (settings, the analysis steps, the result) <- ``report`` (figures, texts,
exports). A module may import its own layer and the layers below it, never above. The
app side (``cli``, ``pages/common``, ``pages``, ``app.py``) sits on top; nothing in
``blinastudy`` imports it or Streamlit. The stable top-level names (``blinastudy.survival``
and so on) only re-export their layer module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "blinastudy"

LAYERS = ("core", "data", "stats", "analysis", "report")

#: Stable import names kept for scripts: module -> the layer module it re-exports.
STABLE_NAMES = {
    "errors": "blinastudy.core.errors",
    "cohort": "blinastudy.data.cohort",
    "mapping": "blinastudy.data.mapping",
    "demo": "blinastudy.data.demo",
    "eligibility": "blinastudy.data.eligibility",
    "schema": "blinastudy.data.schema",
    "survival": "blinastudy.stats.survival",
    "matching": "blinastudy.stats.matching",
    "balance": "blinastudy.stats.balance",
    "weighting": "blinastudy.stats.weighting",
    "sensitivity": "blinastudy.stats.sensitivity",
    "subgroups": "blinastudy.stats.subgroups",
    "settings": "blinastudy.analysis.settings",
}

#: The app side inside the package: consumers of every layer.
APP_MODULES = {"cli", "__main__", "__init__"}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import in ``path``, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import on line {node.lineno}"
            module = node.module or ""
            found.append((node.lineno, module))
            # "from blinastudy.report import charts" imports blinastudy.report.charts
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def _layer_of_module(name: str) -> int | None:
    """The layer index of an imported ``blinastudy`` module (None: not a layer module)."""
    parts = name.split(".")
    if parts[0] != "blinastudy" or len(parts) < 2:
        return None
    if parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    if parts[1] in STABLE_NAMES:
        return _layer_of_module(STABLE_NAMES[parts[1]])
    return None


def _package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _layer_of_file(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    if len(rel.parts) > 1:
        return rel.parts[0]
    stem = path.stem
    if stem in STABLE_NAMES:
        return "stable"
    if stem in APP_MODULES:
        return "app"
    raise AssertionError(f"{rel}: a top-level module outside the layers; put it in a folder")


@pytest.mark.parametrize("path", _package_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_imports_only_its_layer_and_those_below(path: Path) -> None:
    layer = _layer_of_file(path)
    if layer in {"app", "stable"}:
        return
    own = LAYERS.index(layer)
    for line, name in _imports(path):
        assert name.split(".")[0] not in {"streamlit", "pages", "app"}, (
            f"{path.relative_to(ROOT)}:{line} imports {name}: the package never imports the app"
        )
        other = _layer_of_module(name)
        if other is None:
            assert name.split(".")[:2] != ["blinastudy", "cli"], f"{path}:{line} imports the CLI"
            continue
        assert other <= own, (
            f"{path.relative_to(ROOT)}:{line} imports {name}: the {layer} layer may not "
            f"import the {LAYERS[other]} layer"
        )


@pytest.mark.parametrize("name", sorted(STABLE_NAMES))
def test_a_stable_name_only_re_exports_its_layer_module(name: str) -> None:
    import importlib

    path = PACKAGE / f"{name}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "ImportFrom", "Assign"}, f"{name}.py holds code: {kinds}"
    assert [m for _, m in _imports(path) if m == STABLE_NAMES[name]], name
    stable = importlib.import_module(f"blinastudy.{name}")
    target = importlib.import_module(STABLE_NAMES[name])
    assert stable.__all__, name
    for attr in stable.__all__:
        assert getattr(stable, attr) is getattr(target, attr), f"blinastudy.{name}.{attr}"
    assert sorted(stable.__all__) == sorted(target.__all__)


def test_the_issue_api_is_reachable_at_its_documented_names() -> None:
    from blinastudy import matching, sensitivity, survival, weighting

    for attr in (
        "kaplan_meier",
        "cox",
        "logrank",
        "split_at",
        "ph_test",
        "cumulative_incidence",
        "gray_test",
        "fine_gray",
        "cutpoint",
    ):
        assert callable(getattr(survival, attr)), attr
    assert callable(weighting.propensity_weights)
    assert callable(matching.balance)
    assert callable(sensitivity.e_value)


def _app_files() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py"))]


@pytest.mark.parametrize("path", _app_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_app_side_imports_downwards_only(path: Path) -> None:
    common = ROOT / "pages" / "common"
    for line, name in _imports(path):
        where = f"{path.relative_to(ROOT)}:{line} imports {name}"
        if common in path.parents:
            # shared page helpers never depend on a page or the entrypoint
            assert not name.startswith("pages.") or name.startswith("pages.common"), where
            assert name.split(".")[0] != "app", where
        elif path.parent == ROOT / "pages":
            # a page uses the shared helpers and the package, never another page
            assert not name.startswith("pages.") or name.startswith("pages.common"), where
        assert not name.startswith("blinastudy.cli"), where
