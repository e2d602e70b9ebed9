"""The analysis layer: (cohort, settings) -> named steps -> a typed result.

:mod:`~blinastudy.analysis.settings` holds :class:`Settings`, the whole state of an
analysis (JSON round trip); :mod:`~blinastudy.analysis.steps` the public steps and
:func:`analyze`, which runs them in order (with an optional
:class:`~blinastudy.analysis.stepcache.StepCache` and a progress callback);
:mod:`~blinastudy.analysis.results` the result contract (:class:`AnalysisResult` and
its parts); :mod:`~blinastudy.analysis.baseline` Table 1. Imports ``core``, ``data``
and ``stats``; the report layer and the app consume it.

``from blinastudy.analysis import analyze, AnalysisResult`` is the stable way in. The
names of :mod:`~blinastudy.analysis.results` and :mod:`~blinastudy.analysis.steps`
are loaded on first use, so that importing :class:`Settings` (which every page
needs at once) does not load the estimators.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blinastudy.analysis.results import *  # noqa: F403
    from blinastudy.analysis.steps import *  # noqa: F403

#: The modules whose public names (``__all__``) this package offers.
_MODULES = ("results", "steps")


def __getattr__(name: str) -> Any:
    """A public name of the result and step modules, imported on first use (PEP 562)."""
    if name == "__all__":
        names = [n for part in _MODULES for n in _part(part).__all__]
        globals()["__all__"] = names
        return names
    for part in _MODULES:
        module = _part(part)
        if name in module.__all__:
            value = getattr(module, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _part(part: str) -> Any:
    return importlib.import_module(f"{__name__}.{part}")
