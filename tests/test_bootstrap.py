"""The cluster (pair) bootstrap: whole clusters resampled, reproducible by seed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinastudy.core.errors import InputError
from blinastudy.stats.bootstrap import cluster_bootstrap


def test_same_seed_same_interval_other_seed_other_interval() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=60)
    pairs = np.repeat(np.arange(30), 2)

    def mean(rows: np.ndarray) -> float:
        return float(x[rows].mean())

    a = cluster_bootstrap(mean, pairs, replicates=300, random_state=11)
    b = cluster_bootstrap(mean, pairs, replicates=300, random_state=11)
    c = cluster_bootstrap(mean, pairs, replicates=300, random_state=12)
    assert (a.ci_lower, a.ci_upper) == (b.ci_lower, b.ci_upper)
    assert (a.ci_lower, a.ci_upper) != (c.ci_lower, c.ci_upper)
    assert a.estimate == pytest.approx(x.mean(), rel=1e-15)
    assert a.clusters == 30 and a.valid == 300 and a.replicates == 300


def test_interval_is_the_percentile_of_the_replicates_by_hand() -> None:
    # reproduce the generator's draws by hand and take R's type-7 quantiles
    x = np.array([1.0, 5.0, 2.0, 8.0, 3.0, 4.0])
    pairs = np.array(["a", "a", "b", "b", "c", "c"])
    res = cluster_bootstrap(
        lambda r: float(x[r].sum()), pairs, replicates=50, random_state=5, conf_level=0.9
    )
    rng = np.random.default_rng(5)
    sums = np.array([x.reshape(3, 2)[rng.integers(0, 3, size=3)].sum() for _ in range(50)])
    assert res.ci_lower == pytest.approx(np.quantile(sums, 0.05), rel=1e-15)
    assert res.ci_upper == pytest.approx(np.quantile(sums, 0.95), rel=1e-15)


def test_invalid_replicates_are_counted_not_replaced() -> None:
    x = np.arange(20.0)
    pairs = np.repeat(np.arange(10), 2)

    def fragile(rows: np.ndarray) -> float:
        if 0 not in rows:  # cannot be computed without the first pair
            raise InputError("no first pair")
        return float(x[rows].mean())

    res = cluster_bootstrap(fragile, pairs, replicates=200, random_state=1)
    # P(first pair drawn at least once) = 1 - 0.9**10, about 0.65
    assert 100 < res.valid < 170
    assert f"{res.valid} of 200 replicates" in res.method


def test_progress_is_reported_to_the_end() -> None:
    seen: list[tuple[int, int]] = []
    cluster_bootstrap(
        lambda r: float(len(r)),
        [1, 1, 2],
        replicates=40,
        random_state=0,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (40, 40)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InputError, match="replicates"):
        cluster_bootstrap(lambda r: 1.0, [1, 2], replicates=0)
    with pytest.raises(InputError, match="random_state"):
        cluster_bootstrap(lambda r: 1.0, [1, 2], random_state=-1)
    with pytest.raises(InputError, match="conf_level"):
        cluster_bootstrap(lambda r: 1.0, [1, 2], conf_level=1.0)
    with pytest.raises(InputError, match="missing"):
        cluster_bootstrap(lambda r: 1.0, [1, None])
    with pytest.raises(InputError, match="original sample"):
        cluster_bootstrap(lambda r: float("nan"), [1, 2])


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=12),
    seed=st.integers(0, 2**31 - 1),
)
def test_replicates_hold_whole_clusters(sizes: list[int], seed: int) -> None:
    labels = np.repeat(np.arange(len(sizes)), sizes)
    rng = np.random.default_rng(seed)
    labels = labels[rng.permutation(labels.size)]  # clusters need not be contiguous
    seen: list[np.ndarray] = []

    def record(rows: np.ndarray) -> float:
        seen.append(rows.copy())
        return 0.0

    cluster_bootstrap(record, labels, replicates=5, random_state=seed)
    for rows in seen[1:]:
        drawn = labels[rows]
        for lab in np.unique(drawn):
            count = int((drawn == lab).sum())
            size = int((labels == lab).sum())
            assert count % size == 0  # every draw of a cluster brings all its rows
        assert len(set(drawn.tolist())) <= len(sizes)


@settings(max_examples=40, deadline=None)
@given(
    times=st.lists(st.integers(0, 8), min_size=4, max_size=16),
    seed=st.integers(0, 2**31 - 1),
    at=st.sampled_from([0.0, 2.5, 4.0, 8.0]),
)
def test_batch_statistics_equal_replicated_rows(times: list[int], seed: int, at: float) -> None:
    from blinastudy.stats.survival import cox_fit, kaplan_meier, survival_at
    from blinastudy.stats.survival.coxph import firth_replicates
    from blinastudy.stats.survival.km import survival_at_replicates

    n = len(times)
    rng = np.random.default_rng(seed)
    t = np.array(times, dtype=float)
    e = rng.integers(0, 2, n)
    x = np.array([1, 0] * n)[:n].astype(float)
    counts = rng.integers(0, 3, size=(6, n)).astype(float)
    km = survival_at_replicates(t, e, counts, at)
    firth = firth_replicates(x, t, e, counts)
    for b in range(counts.shape[0]):
        rows = np.repeat(np.arange(n), counts[b].astype(int))
        if rows.size == 0:
            continue
        expected = survival_at(kaplan_meier(t[rows], e[rows]), at).survival
        assert km[b] == pytest.approx(expected, rel=1e-12, abs=1e-15, nan_ok=True)
        xr, tr, er = x[rows], t[rows], e[rows]
        if er.sum() == 0 or np.ptp(xr) == 0:
            assert np.isnan(firth[b])
        else:
            fit = cox_fit(xr, tr, er, firth=True, profile=False)
            assert firth[b] == pytest.approx(fit.coef[0], rel=1e-7, abs=1e-9, nan_ok=True)
