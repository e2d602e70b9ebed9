"""Times equal up to floating-point noise are ties, as R's ``survival:::aeqSurv``.

R's ``survfit``, ``survdiff`` and ``coxph`` all call ``aeqSurv`` first (their
``timefix = TRUE`` default): the distinct finite time values are sorted, and a
value whose gap to the previous one is at most ``sqrt(.Machine$double.eps)``,
either absolutely or relative to the mean absolute distinct value, is replaced by
the first value of its run. So months converted as ``days / 365.25 * 12`` in
one file and ``days / (365.25 / 12)`` in another are tied, as R ties them,
instead of forming two event times a rounding error apart.
"""

from __future__ import annotations

import numpy as np

from blinastudy.core.validate import FloatArray

__all__ = ["TIMEFIX_TOLERANCE", "timefix"]


#: R's ``sqrt(.Machine$double.eps)``, the tolerance of ``all.equal`` and ``aeqSurv``.
TIMEFIX_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


def timefix(*times: FloatArray) -> tuple[FloatArray, ...]:
    """Snap near-equal times to one value, as ``aeqSurv`` (jointly over all arrays).

    Parameters
    ----------
    *times : numpy.ndarray of float
        One array (right-censored data) or two (``start`` and ``stop`` of
        counting-process rows); the distinct values of all of them are pooled
        to decide the ties, as ``aeqSurv`` pools the columns of a ``Surv``.

    Returns
    -------
    tuple of numpy.ndarray
        The arrays with each time replaced by the first value of its run of
        near-equal times (unchanged copies when there is no such run).

    Examples
    --------
    >>> import numpy as np
    >>> days = np.array([7.0, 7.0])
    >>> a, b = days / 365.25 * 12, days / (365.25 / 12)
    >>> bool(a[0] == b[0])
    False
    >>> (fixed,) = timefix(np.array([a[0], b[0], 20.0]))
    >>> bool(fixed[0] == fixed[1]), float(fixed[2])
    (True, 20.0)
    """
    arrays = [np.asarray(t, dtype=np.float64) for t in times]
    pooled = np.concatenate([a.ravel() for a in arrays]) if arrays else np.empty(0)
    y = np.unique(pooled[np.isfinite(pooled)])
    if y.size < 2:
        return tuple(a.copy() for a in arrays)
    dy = np.diff(y)
    scale = float(np.mean(np.abs(y)))
    with np.errstate(divide="ignore", invalid="ignore"):
        tied = (dy <= TIMEFIX_TOLERANCE) | (dy / scale <= TIMEFIX_TOLERANCE)
    if not tied.any():
        return tuple(a.copy() for a in arrays)
    cuts = y[np.r_[True, ~tied]]
    out = []
    for a in arrays:
        snapped = a.copy()
        finite = np.isfinite(a)
        # findInterval: index of the last cut <= value (every finite value is >= cuts[0])
        idx = np.searchsorted(cuts, a[finite], side="right") - 1
        snapped[finite] = cuts[idx]
        out.append(snapped)
    return tuple(out)
