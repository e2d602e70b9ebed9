"""How the server process treats patient data: uploads stay in memory, and the memory of
closed sessions goes back to the operating system.

For the second, Python must allocate through the C allocator: start the server with
``PYTHONMALLOC=malloc`` in its environment (:data:`MEMORY_ENV`,
:func:`allocator_returns_memory`).

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
import os
import threading
import time
from collections.abc import Callable, Mapping
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
#: Arenas of the C allocator for the whole process (:func:`limit_malloc_arenas`).
MALLOC_ARENAS = 2
#: What the server's environment must hold when Python starts for the memory of closed
#: sessions to go back to the system (:func:`allocator_returns_memory`,
#: :func:`limit_malloc_arenas`).
MEMORY_ENV = {"PYTHONMALLOC": "malloc", "MALLOC_ARENA_MAX": str(MALLOC_ARENAS)}

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
    trim = _libc("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _libc(name: str) -> Callable[..., int] | None:
    """The C library's function ``name`` (glibc only)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        function: Callable[..., int] = getattr(libc, name)
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows)
        return None
    return function


#: glibc's ``mallopt`` parameter for the most arenas (``M_ARENA_MAX``).
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let the C allocator use at most ``arenas`` arenas from now on; returns whether it
    could be asked (glibc only).

    glibc gives a thread that allocates while the others' arenas are busy an arena of
    its own, up to eight per core, and keeps them. Many sessions at once run many
    script threads, and each arena then keeps the pages of the few objects in it that
    outlive their session. ``MALLOC_ARENA_MAX`` in the server's environment
    (:data:`MEMORY_ENV`) does the same from the start.

    Examples
    --------
    >>> isinstance(limit_malloc_arenas(), bool)
    True
    """
    mallopt = _libc("mallopt")
    return mallopt is not None and bool(mallopt(_M_ARENA_MAX, int(arenas)))


def allocator_returns_memory(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether Python allocates through the C allocator (``PYTHONMALLOC=malloc``), whose
    freed pages :func:`return_free_memory` can give back.

    Python's own small-object allocator, the default, takes memory from the system in
    arenas of 1 MiB and gives an arena back only once every object in it is freed.
    While many sessions run at once, the few objects that outlive them (caches, logs,
    interned names) are spread over most of those arenas, so resident memory stays
    near its peak after the sessions end: 1.5 times that after one session, with 20
    sessions at once (``tests/test_load.py``). Through ``malloc`` every freed page can
    go back, and it came back to about 1.1 times.

    Examples
    --------
    >>> allocator_returns_memory({"PYTHONMALLOC": "malloc"})
    True
    >>> allocator_returns_memory({})
    False
    """
    return environ.get("PYTHONMALLOC", "") in ("malloc", "malloc_debug")


def start_memory_return(interval: float = TRIM_INTERVAL) -> threading.Thread:
    """Start (once per process) a background thread that calls
    :func:`forget_expired_sessions`, :func:`release_ended_sessions` and
    :func:`return_free_memory` every ``interval`` seconds.

    Examples
    --------
    >>> start_memory_return() is start_memory_return()
    True
    """
    global _trimmer
    with _trimmer_lock:
        if _trimmer is None or not _trimmer.is_alive():
            limit_malloc_arenas()

            def run() -> None:
                while True:
                    time.sleep(interval)
                    try:
                        forget_expired_sessions()
                        release_ended_sessions()
                    except Exception as exc:  # never stop returning memory
                        logging.getLogger("blinastudy.app").error(
                            "session release (%s)", type(exc).__name__
                        )
                    return_free_memory()

            _trimmer = threading.Thread(target=run, name="blinastudy-memory", daemon=True)
            _trimmer.start()
            if not allocator_returns_memory():
                logging.getLogger("blinastudy.app").warning(
                    "PYTHONMALLOC is not malloc: the memory of ended sessions is only partly "
                    "returned to the system (README, Operations)"
                )
        return _trimmer


def _runtime() -> Any | None:
    from streamlit.runtime import Runtime

    return Runtime.instance() if Runtime.exists() else None


def forget_expired_sessions(runtime: Any | None = None, wait: float = 10.0) -> int:
    """End the closed sessions whose time to reconnect is over; returns how many.

    Streamlit keeps a closed tab's session for ``server.disconnectedSessionTTL``
    seconds and then only hides it: the session, with its cohort and results, is
    dropped at the next connection or disconnection of any session, and even then
    never shut down; and its main loop keeps the last session it served in a local
    variable until another session connects. After the last user of a quiet server
    leaves, the cohort could stay in memory for good. This drops the hidden sessions
    now, shuts each down as Streamlit does a session it closes, and empties its state
    (cohort, settings, results, step cache), whoever still refers to it. It runs on
    the server's event loop (the only thread that may touch sessions) and waits up to
    ``wait`` seconds for it, so that :func:`return_free_memory` can return the memory
    right after.

    Examples
    --------
    >>> from streamlit.runtime import Runtime
    >>> forget_expired_sessions() if not Runtime.exists() else 0
    0
    """
    runtime = _runtime() if runtime is None else runtime
    storage = getattr(getattr(runtime, "_session_mgr", None), "_session_storage", None)
    expire = getattr(getattr(storage, "_cache", None), "expire", None)
    loop = getattr(getattr(runtime, "_async_objs", None), "eventloop", None)
    if not callable(expire) or loop is None or loop.is_closed():  # another Streamlit
        return 0
    dropped: list[int] = []
    done = threading.Event()

    def run() -> None:
        try:
            ended = expire()
            for _session_id, info in ended:
                _end_session(getattr(info, "session", None))
            dropped.append(len(ended))
        finally:
            done.set()

    loop.call_soon_threadsafe(run)
    done.wait(wait)
    return dropped[0] if dropped else 0


def _end_session(session: Any) -> None:
    """Shut ``session`` down and empty its state (on the event loop)."""
    try:
        shutdown = getattr(session, "shutdown", None)
        if callable(shutdown):
            shutdown()
    except Exception as exc:  # still empty its state
        logging.getLogger("blinastudy.app").error("session shutdown (%s)", type(exc).__name__)
    clear = getattr(getattr(session, "session_state", None), "clear", None)
    if callable(clear):
        clear()


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
    runtime = _runtime() if runtime is None else runtime
    if runtime is None:
        return 0
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
