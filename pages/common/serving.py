"""How the server process treats patient data: uploads stay in memory, and the memory of
closed sessions goes back to the operating system.

Streamlit receives an upload through Starlette's multipart parser, which keeps a
file in memory up to ``MultiPartParser.spool_max_size`` (1 MB by default) and
rolls anything larger over to an unnamed temporary file in ``/tmp``. A cohort
file must never reach the disk, so the app raises that threshold to the upload
limit (``server.maxUploadSize``) before the first upload can arrive.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from starlette.formparsers import MultiPartParser

#: Bytes of multipart framing allowed on top of the upload limit.
FRAMING = 64 * 1024


def keep_uploads_in_memory(max_upload_mb: int) -> int:
    """Hold uploads of up to ``max_upload_mb`` megabytes in memory; returns the bytes.

    Examples
    --------
    >>> keep_uploads_in_memory(50) == 50 * 1024 * 1024 + FRAMING
    True
    """
    limit = int(max_upload_mb) * 1024 * 1024 + FRAMING
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, limit)
    return limit


#: Seconds between two returns of freed memory to the operating system.
TRIM_INTERVAL = 20.0

_trimmer: threading.Thread | None = None
_trimmer_lock = threading.Lock()


def return_free_memory() -> bool:
    """Collect garbage and give freed heap pages back to the operating system.

    A closed session's cohort and results are freed by Python, but the C allocator
    (glibc) keeps the pages of every thread's arena for reuse, so the server's
    resident memory would only grow with each session. ``malloc_trim(0)`` releases
    them. Returns whether the allocator could be asked (glibc only).

    Examples
    --------
    >>> isinstance(return_free_memory(), bool)
    True
    """
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        function: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows)
        return None
    return function


def start_memory_return(interval: float = TRIM_INTERVAL) -> threading.Thread:
    """Start (once per process) a background thread that calls
    :func:`release_ended_sessions` and :func:`return_free_memory` every ``interval``
    seconds.

    Examples
    --------
    >>> start_memory_return() is start_memory_return()
    True
    """
    global _trimmer
    with _trimmer_lock:
        if _trimmer is None or not _trimmer.is_alive():

            def run() -> None:
                while True:
                    time.sleep(interval)
                    try:
                        release_ended_sessions()
                    except Exception as exc:  # never stop returning memory
                        logging.getLogger("blinastudy.app").error(
                            "session release (%s)", type(exc).__name__
                        )
                    return_free_memory()

            _trimmer = threading.Thread(target=run, name="blinastudy-memory", daemon=True)
            _trimmer.start()
        return _trimmer


def release_ended_sessions(runtime: Any | None = None) -> int:
    """Free the uploaded files of sessions that have ended; returns how many sessions.

    When a tab closes, Streamlit keeps its session for ``server.disconnectedSessionTTL``
    seconds so that a reconnect finds it, and then simply forgets it: the session is
    never shut down, so its uploaded files (the cohort's bytes) and media references
    would stay in the server's memory for good. A session that is neither connected nor
    waiting for a reconnect has ended; this removes what it left behind.

    Examples
    --------
    >>> from streamlit.runtime import Runtime
    >>> release_ended_sessions() if not Runtime.exists() else 0
    0
    """
    if runtime is None:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return 0
        runtime = Runtime.instance()
    sessions = getattr(runtime, "_session_mgr", None)
    uploads = runtime.uploaded_file_mgr
    storage = getattr(uploads, "file_storage", None)
    if sessions is None or storage is None:  # another Streamlit: leave it alone
        return 0
    ended = [sid for sid in list(storage) if sessions.get_session_info(sid) is None]
    for sid in ended:
        uploads.remove_session_files(sid)
        runtime.media_file_mgr.clear_session_refs(sid)
    return len(ended)
