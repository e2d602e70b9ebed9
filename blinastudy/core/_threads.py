"""Run small linear algebra on one BLAS thread.

The matrices of a cohort analysis are small (hundreds of rows, tens of
columns): multi-threaded BLAS only adds synchronisation cost, and on a busy
server (several sessions on two cores) it is many times slower. The analysis
entry points therefore run with BLAS limited to one thread; results are
identical.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from threadpoolctl import ThreadpoolController

__all__ = ["single_blas_thread"]

P = ParamSpec("P")
R = TypeVar("R")
_controller: Any = None


def single_blas_thread(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate ``func`` so that it runs with BLAS limited to one thread.

    Examples
    --------
    >>> @single_blas_thread
    ... def add(a: int, b: int) -> int:
    ...     return a + b
    >>> add(1, 2)
    3
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        global _controller
        if _controller is None:
            _controller = ThreadpoolController()
        with _controller.limit(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper
