"""The audit log: who used a cohort, ran an analysis or took a file away, and when.

One JSON line per event on the logger ``blinastudy.audit``: the time (UTC), the user
(from the reverse proxy, or ``anonymous``), the action, and fields that identify what
was done without holding a patient value - a cohort's SHA-256 and row count, a settings
hash, the kind of a download. Every field is checked here: a field is a count, a hash,
or a short name made of letters, digits and ``. _ : -`` (an app-defined kind), so that
no file name, column name or cell value can reach the log.

Where the lines go is the deployment's choice: a handler attached to the logger
before the app starts is used as it is; without one, :func:`configure_audit_log`
writes the lines to the server process's standard error (never to a file).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import sys

from blinastudy.core.errors import InputError

__all__ = ["AUDIT_LOGGER", "audit", "audit_line", "configure_audit_log", "settings_hash"]

#: Name of the audit logger.
AUDIT_LOGGER = "blinastudy.audit"

_LOG = logging.getLogger(AUDIT_LOGGER)
_NAME = re.compile(r"[A-Za-z0-9._:-]{1,80}")
_HASH = re.compile(r"[0-9a-f]{16,64}")
# A user name as the proxy sends it: printable, one line, bounded.
_USER = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


def _field(name: str, value: object) -> str | int | bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and (
        _HASH.fullmatch(value) if name.endswith("hash") else _NAME.fullmatch(value)
    ):
        return value
    raise InputError(f"audit field {name} must be a count, a hash or a short name")


def audit_line(action: str, user: str, when: dt.datetime, **fields: object) -> str:
    """The JSON line of one audit event.

    Parameters
    ----------
    action : str
        What happened (``upload``, ``analysis``, ``download``, ``forget``, ...).
    user : str
        Who: the proxy's user name, or ``anonymous``.
    when : datetime
        When (timezone-aware; written in UTC to the second).
    **fields
        What identifies the event: counts (non-negative ints), booleans, hashes (for
        names ending in ``hash``: lower-case hex) or short names.

    Returns
    -------
    str
        ``{"time": ..., "user": ..., "action": ..., <fields>}`` as one line.

    Raises
    ------
    InputError
        A field that is not a count, a flag, a hash or a short name (it could hold
        data), an invalid user name or a naive time.

    Examples
    --------
    >>> import datetime as dt
    >>> when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    >>> audit_line("download", "anonymous", when, kind="csv:baseline-before")
    '{"time": "2026-01-02T03:04:05Z", "user": "anonymous", "action": "download", "kind": "csv:baseline-before"}'
    >>> audit_line("upload", "anonymous", when, value="P 1")
    Traceback (most recent call last):
    ...
    blinastudy.core.errors.InputError: audit field value must be a count, a hash or a short name
    """
    if when.tzinfo is None:
        raise InputError("audit time must be timezone-aware")
    if not _USER.fullmatch(user):
        raise InputError("audit user must be one line of printable text")
    record: dict[str, object] = {
        "time": when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "user": user,
        "action": _field("action", action),
    }
    record.update({name: _field(name, value) for name, value in fields.items()})
    return json.dumps(record, ensure_ascii=False)


def audit(action: str, user: str, **fields: object) -> None:
    """Write one audit event, now, to the ``blinastudy.audit`` logger (level INFO).

    See :func:`audit_line` for the fields.

    Examples
    --------
    >>> audit("forget", "anonymous")
    """
    _LOG.info(audit_line(action, user, dt.datetime.now(dt.UTC), **fields))


def settings_hash(settings_json: str) -> str:
    """A short hash (SHA-256, 16 hex digits) that names an analysis' settings.

    Examples
    --------
    >>> settings_hash('{"a": 1}')
    'f9d86028c6e0d64e'
    """
    return hashlib.sha256(settings_json.encode("utf-8")).hexdigest()[:16]


def configure_audit_log() -> logging.Logger:
    """The audit logger, writing to standard error unless the deployment gave it a
    handler.

    Without a handler of its own, the logger gets one that writes each line as it is
    to ``sys.stderr``; it does not pass lines on to the root logger (the app's other
    logs keep their own level and format). Calling it again changes nothing.

    Examples
    --------
    >>> configure_audit_log().name
    'blinastudy.audit'
    """
    if not _LOG.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        _LOG.addHandler(handler)
        _LOG.propagate = False
    _LOG.setLevel(logging.INFO)
    return _LOG
