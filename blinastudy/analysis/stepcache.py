"""A small in-memory cache of analysis steps, keyed by exactly the inputs a step reads.

:func:`blinastudy.analysis.analyze` runs as a sequence of named steps (eligible
pool, propensity model, matching, balance, each endpoint, MRD groups, forest...).
Given a :class:`StepCache`, each step's result is stored under the step's name and
a hash of the inputs it reads: the cohort's content hash
(:func:`blinastudy.data.cohort.content_hash`) and the JSON of the settings fields it
reads, directly or through the steps before it. A later analysis whose settings
differ only in fields a step does not read reuses that step's result, so moving
the MRD threshold does not refit the propensity model and moving the caliper does
not refit it either.

The cache is bounded both in entries and in (estimated) bytes, and evicts the
least recently used entry first. It lives in memory only; the app keeps one per
browser session (in ``st.session_state``), so it is freed with the session.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np
import pandas as pd

__all__ = ["StepCache", "approx_nbytes", "step_key"]

T = TypeVar("T")


def _jsonable(value: Any) -> Any:
    """Dataclasses as dicts and tuples as lists, for a stable JSON text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a step input must be JSON-like, got {type(value).__name__}")


def step_key(step: str, inputs: Mapping[str, Any]) -> str:
    """The cache key of ``step`` on ``inputs``: its name and a SHA-256 of their JSON.

    ``inputs`` holds what the step reads (the cohort's content hash, settings
    fields, names); dataclasses count as their fields. Key order does not matter.

    Examples
    --------
    >>> a = step_key("matching", {"cohort": "ab12", "caliper": 0.2})
    >>> a == step_key("matching", {"caliper": 0.2, "cohort": "ab12"})
    True
    >>> a == step_key("matching", {"cohort": "ab12", "caliper": 0.1})
    False
    >>> a.split(":")[0]
    'matching'
    """
    text = json.dumps(_jsonable(dict(inputs)), sort_keys=True, separators=(",", ":"))
    return f"{step}:{hashlib.sha256(text.encode()).hexdigest()}"


#: Values of an object column measured to estimate the column's text (see
#: :func:`approx_nbytes`).
TEXT_SAMPLE = 64


def _text_nbytes(values: np.ndarray) -> int:
    """Estimated bytes of the Python objects in an object array (any shape), from up to
    :data:`TEXT_SAMPLE` evenly spaced rows."""
    n = values.shape[0]
    if n == 0:
        return 0
    sample = values[:: max(1, n // TEXT_SAMPLE)][:TEXT_SAMPLE]
    return int(sum(sys.getsizeof(v) for v in sample.ravel()) * n / sample.shape[0])


def _pandas_nbytes(value: pd.DataFrame | pd.Series | pd.Index) -> int:
    """Bytes of a frame, series or index: numbers exactly, text in object columns
    estimated from a sample of rows (measuring every string would cost more than many
    of the steps cached)."""
    index = value if isinstance(value, pd.Index) else value.index
    total = int(index.nbytes)
    if index.dtype == object:
        total += _text_nbytes(index.to_numpy())
    if isinstance(value, pd.DataFrame):
        total += int(value.memory_usage(index=False, deep=False).sum())
        text = value.select_dtypes(include="object")
        if text.shape[1]:
            total += _text_nbytes(text.to_numpy())
    elif isinstance(value, pd.Series):
        total += int(value.memory_usage(index=False, deep=False))
        if value.dtype == object:
            total += _text_nbytes(value.to_numpy())
    return total


def approx_nbytes(value: Any, _seen: set[int] | None = None) -> int:
    """Estimated memory held by ``value``: frames, arrays, dataclasses and containers.

    Objects reached twice count once; text in object columns is estimated from a
    sample of its values.

    Examples
    --------
    >>> import numpy as np
    >>> approx_nbytes(np.zeros(1000)) >= 8000
    True
    >>> approx_nbytes({"a": np.zeros(10), "b": np.zeros(10)}) >= 160
    True
    """
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, (pd.DataFrame, pd.Series, pd.Index)):
        return _pandas_nbytes(value)
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sys.getsizeof(value) + sum(
            approx_nbytes(getattr(value, f.name), seen) for f in dataclasses.fields(value)
        )
    if isinstance(value, Mapping):
        return sys.getsizeof(value) + sum(
            approx_nbytes(k, seen) + approx_nbytes(v, seen) for k, v in value.items()
        )
    if isinstance(value, (list, tuple, set, frozenset)):
        return sys.getsizeof(value) + sum(approx_nbytes(v, seen) for v in value)
    return sys.getsizeof(value)


class StepCache:
    """Results of analysis steps, least recently used evicted first.

    Parameters
    ----------
    max_entries : int, default 256
        Most step results kept.
    max_bytes : int, default 200 MB
        Most memory kept, as estimated by :func:`approx_nbytes`; a result larger
        than this on its own is returned but not kept.

    Attributes
    ----------
    runs : collections.Counter
        Per step name, how many times the step was computed (cache misses).
    hits : collections.Counter
        Per step name, how many times a stored result was reused.

    Examples
    --------
    >>> cache = StepCache(max_entries=2)
    >>> cache.get_or_compute("square", {"x": 3}, lambda: 9)
    9
    >>> cache.get_or_compute("square", {"x": 3}, lambda: -1)  # stored: not recomputed
    9
    >>> cache.runs["square"], cache.hits["square"]
    (1, 1)
    >>> for x in (4, 5):
    ...     _ = cache.get_or_compute("square", {"x": x}, lambda: x * x)
    >>> len(cache), cache.get_or_compute("square", {"x": 3}, lambda: 9.0)  # evicted
    (2, 9.0)
    """

    def __init__(self, max_entries: int = 256, max_bytes: int = 200_000_000) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("a step cache needs room for at least one entry and one byte")
        self.max_entries = int(max_entries)
        self.max_bytes = int(max_bytes)
        self.runs: Counter[str] = Counter()
        self.hits: Counter[str] = Counter()
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._nbytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Estimated bytes held by the stored results."""
        return self._nbytes

    def clear(self) -> None:
        """Forget every stored result (the counters are kept)."""
        with self._lock:
            self._entries.clear()
            self._nbytes = 0

    def get_or_compute(self, step: str, inputs: Mapping[str, Any], compute: Callable[[], T]) -> T:
        """The stored result of ``step`` on ``inputs``, computing and storing it if absent.

        ``inputs`` must hold everything the step's result depends on (see
        :func:`step_key`). An exception raised by ``compute`` propagates and
        nothing is stored.
        """
        key = step_key(step, inputs)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits[step] += 1
                value: T = entry[0]
                return value
        value = compute()
        size = approx_nbytes(value)
        with self._lock:
            self.runs[step] += 1
            if size > self.max_bytes:
                return value
            old = self._entries.pop(key, None)
            if old is not None:
                self._nbytes -= old[1]
            self._entries[key] = (value, size)
            self._nbytes += size
            while len(self._entries) > self.max_entries or self._nbytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._nbytes -= dropped
        return value
