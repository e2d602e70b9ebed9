"""Numerical derivatives for checking analytic ones in the tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def numerical_hessian(fun: Callable[[FloatArray], float], b: FloatArray, h: float) -> FloatArray:
    """Central second differences with one Richardson step (error O(h^4))."""
    p = b.size
    eye = np.eye(p)

    def second(step: float) -> FloatArray:
        out = np.empty((p, p))
        for i in range(p):
            for j in range(p):
                di, dj = eye[i] * step, eye[j] * step
                out[i, j] = (
                    fun(b + di + dj) - fun(b + di - dj) - fun(b - di + dj) + fun(b - di - dj)
                ) / (4 * step * step)
        return out

    return (4 * second(h / 2) - second(h)) / 3
