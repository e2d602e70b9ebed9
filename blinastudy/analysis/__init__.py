"""The analysis layer: (cohort, settings) -> named steps -> a typed result.

:mod:`~blinastudy.analysis.settings` holds :class:`Settings`, the whole state of an
analysis (JSON round trip); :mod:`~blinastudy.analysis.steps` the public steps and
:func:`analyze`, which runs them in order (with an optional
:class:`~blinastudy.analysis.stepcache.StepCache` and a progress callback);
:mod:`~blinastudy.analysis.results` the result contract (:class:`AnalysisResult` and
its parts); :mod:`~blinastudy.analysis.baseline` Table 1. Imports ``core``, ``data``
and ``stats``; the report layer and the app consume it.

``from blinastudy.analysis import analyze, AnalysisResult`` is the stable way in.
"""

from blinastudy.analysis.results import *  # noqa: F403
from blinastudy.analysis.results import __all__ as _results_all
from blinastudy.analysis.steps import *  # noqa: F403
from blinastudy.analysis.steps import __all__ as _steps_all

__all__ = [*_results_all, *_steps_all]
