"""The one error type the package raises for bad input.

Every public function of :mod:`blinastudy` rejects bad arguments with
:class:`InputError` (a :class:`ValueError`), whose message names what is wrong and
where, so that callers (the app, notebooks, the command line) can show it to a
person instead of a traceback.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad input to a :mod:`blinastudy` function: the message says what and where.

    Examples
    --------
    >>> from blinastudy.core.errors import InputError
    >>> issubclass(InputError, ValueError)
    True
    """
