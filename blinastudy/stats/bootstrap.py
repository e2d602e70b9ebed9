"""Cluster bootstrap: resample matched sets (pairs), not patients.

After matching, the two members of a pair are not independent samples, so an
interval that treats the arms as independent is wrong in both directions
(Austin 2014; Austin & Small 2014). :func:`cluster_bootstrap` draws as many
clusters as the sample has, with replacement, keeps every row of each drawn
cluster, recomputes the statistic, and reports the percentile interval of the
replicates (numpy's default linear quantiles, R's ``quantile(type = 7)``).
Replicates where the statistic cannot be computed (e.g. no follow-up reaches
the horizon in one arm) are counted and left out, never replaced.

The same ``random_state`` gives the same replicates and the same interval.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from blinastudy.core.errors import InputError
from blinastudy.core.validate import FloatArray, IntArray, describe_value

__all__ = ["BootstrapResult", "cluster_bootstrap"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BootstrapResult:
    """A percentile bootstrap interval.

    Attributes
    ----------
    estimate : float
        The statistic on the original sample.
    ci_lower, ci_upper : float
        Percentile limits at ``conf_level`` (``NaN`` when fewer than 10 replicates
        gave a finite statistic).
    conf_level : float
        Confidence level of the interval.
    replicates : int
        Replicates drawn.
    valid : int
        Replicates whose statistic was finite (the interval uses these).
    clusters : int
        Number of clusters (matched sets) resampled.
    random_state : int
        Seed of the generator (``numpy.random.default_rng``).
    """

    estimate: float
    ci_lower: float
    ci_upper: float
    conf_level: float
    replicates: int
    valid: int
    clusters: int
    random_state: int

    @property
    def method(self) -> str:
        """How the interval was made, for a caption next to the number.

        Examples
        --------
        >>> BootstrapResult(0.1, 0.0, 0.2, 0.95, 1000, 998, 90, 7).method
        'percentile bootstrap resampling 90 matched sets, 998 of 1000 replicates, seed 7'
        """
        return (
            f"percentile bootstrap resampling {self.clusters} matched sets, "
            f"{self.valid} of {self.replicates} replicates, seed {self.random_state}"
        )


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < low:
        raise InputError(f"{name} must be a whole number >= {low}, got {describe_value(value)}")
    return int(value)


def cluster_bootstrap(
    statistic: Callable[[IntArray], float] | None,
    clusters: Any,
    *,
    batch: Callable[[FloatArray], FloatArray] | None = None,
    replicates: int = 1000,
    random_state: int = 0,
    conf_level: float = 0.95,
    progress: Progress | None = None,
) -> BootstrapResult:
    """Percentile interval of a statistic over bootstrap resamples of whole clusters.

    Parameters
    ----------
    statistic : callable or None
        Takes row positions (0-based, with repeats, rows of a cluster together)
        and returns the statistic on those rows; ``NaN`` (or an
        :class:`~blinastudy.core.errors.InputError`) marks a replicate where it cannot be
        computed.
    clusters : array-like
        Cluster label of every row (e.g. the matched pair); every label is a
        resampling unit.
    batch : callable, optional
        Instead of ``statistic``: takes a (replicates x rows) matrix of frequency
        weights (how often each row is drawn) and returns every replicate's
        statistic at once; the original sample is a row of ones. Both forms give
        the same replicates for the same seed.
    replicates : int, default 1000
        Number of bootstrap samples.
    random_state : int, default 0
        Seed: the same seed gives the same interval.
    conf_level : float, default 0.95
        Level of the percentile interval.
    progress : callable, optional
        Called as ``progress(done, replicates)`` every 5 % of the way.

    Returns
    -------
    BootstrapResult

    Raises
    ------
    InputError
        Bad arguments, or a statistic that cannot be computed on the original sample.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> pairs = np.array([1, 1, 2, 2, 3, 3])
    >>> res = cluster_bootstrap(lambda rows: float(x[rows].mean()), pairs, replicates=200,
    ...                         random_state=1)
    >>> res.estimate, res.valid, res.ci_lower <= 3.5 <= res.ci_upper
    (3.5, 200, True)
    >>> same = cluster_bootstrap(None, pairs, batch=lambda w: (w @ x) / w.sum(axis=1),
    ...                          replicates=200, random_state=1)
    >>> bool(np.isclose(same.ci_lower, res.ci_lower) and np.isclose(same.ci_upper, res.ci_upper))
    True
    """
    if (statistic is None) == (batch is None):
        raise InputError("give either a statistic of rows or a batch statistic of weights")
    replicates = _check_int(replicates, "replicates", 1)
    seed = _check_int(random_state, "random_state", 0)
    if isinstance(conf_level, bool) or not isinstance(conf_level, numbers.Real):
        raise InputError(
            f"conf_level must be a number strictly between 0 and 1, got {describe_value(conf_level)}"
        )
    if not 0 < float(conf_level) < 1:
        raise InputError(
            f"conf_level must be strictly between 0 and 1, got {describe_value(conf_level)}"
        )
    labels = np.asarray(clusters, dtype=object).ravel()
    if labels.size == 0:
        raise InputError("clusters is empty")
    if pd.isna(pd.Series(labels)).any():
        raise InputError("clusters has missing labels")
    _, codes = np.unique(labels.astype(str), return_inverse=True)
    codes = np.asarray(codes, dtype=np.int64).ravel()
    k = int(codes.max()) + 1
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, k, size=(replicates, k))
    if batch is not None:
        estimate = float(np.asarray(batch(np.ones((1, labels.size))), dtype=float)[0])
        if not np.isfinite(estimate):
            raise InputError("the statistic cannot be computed on the original sample")
        counts = np.zeros((replicates, k))
        np.add.at(counts, (np.repeat(np.arange(replicates), k), drawn.ravel()), 1.0)
        stats = np.asarray(batch(counts[:, codes]), dtype=float)
        if progress is not None:
            progress(replicates, replicates)
    else:
        assert statistic is not None
        order = np.argsort(codes, kind="stable")
        starts = np.searchsorted(codes[order], np.arange(k))
        sizes = np.bincount(codes, minlength=k)
        estimate = _safe(statistic, np.arange(labels.size, dtype=np.int64))
        if not np.isfinite(estimate):
            raise InputError("the statistic cannot be computed on the original sample")
        stats = np.full(replicates, np.nan)
        step = max(1, replicates // 20)
        for b in range(replicates):
            rows = np.concatenate([order[starts[c] : starts[c] + sizes[c]] for c in drawn[b]])
            stats[b] = _safe(statistic, rows.astype(np.int64))
            if progress is not None and ((b + 1) % step == 0 or b + 1 == replicates):
                progress(b + 1, replicates)
    good = stats[np.isfinite(stats)]
    alpha = (1.0 - float(conf_level)) / 2.0
    if good.size >= 10:
        lo, hi = (float(v) for v in np.quantile(good, [alpha, 1.0 - alpha]))
    else:
        lo = hi = float("nan")
    return BootstrapResult(
        estimate=estimate,
        ci_lower=lo,
        ci_upper=hi,
        conf_level=float(conf_level),
        replicates=replicates,
        valid=int(good.size),
        clusters=k,
        random_state=seed,
    )


def _safe(statistic: Callable[[IntArray], float], rows: IntArray) -> float:
    try:
        value = float(statistic(rows))
    except InputError:
        return float("nan")
    return value if np.isfinite(value) else float("nan")
