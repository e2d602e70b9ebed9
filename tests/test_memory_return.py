"""The memory of ended sessions goes back: closed sessions are dropped once their time to
reconnect is over, without waiting for another session to come or go, and the servers
the tests start use the allocator whose freed pages can be returned."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from streamlit.runtime.caching.ttl_cache import TTLCache

from pages.common.serving import MEMORY_ENV, allocator_returns_memory, forget_expired_sessions


class _Session:
    """What the forgetting uses of a Streamlit session."""

    def __init__(self, cohort: str) -> None:
        self.session_state: dict[str, str] = {"blinastudy.store": cohort}
        self.shut_down_on: list[str] = []

    def shutdown(self) -> None:
        self.shut_down_on.append(threading.current_thread().name)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running on its own thread, as the server's does."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="event-loop", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def test_closed_sessions_past_their_reconnect_time_are_dropped_on_the_event_loop(
    loop: asyncio.AbstractEventLoop,
) -> None:
    clock = _Clock()
    expired_on: list[str] = []

    class Store(TTLCache[str, object]):
        def expire(self, at_time: float | None = None) -> list[tuple[str, object]]:
            expired_on.append(threading.current_thread().name)
            return super().expire(at_time)

    cache = Store(maxsize=128, ttl=60, timer=clock)
    old, new = _Session("cohort A"), _Session("cohort B")
    cache["closed long ago"] = SimpleNamespace(session=old)
    clock.now = 30.0
    cache["closed just now"] = SimpleNamespace(session=new)
    runtime = SimpleNamespace(
        _session_mgr=SimpleNamespace(_session_storage=SimpleNamespace(_cache=cache)),
        _async_objs=SimpleNamespace(eventloop=loop),
    )
    clock.now = 61.0
    # hidden already, but still held (with its cohort and results) until something writes
    assert "closed long ago" not in cache and len(cache._data) == 2
    expired_on.clear()  # (each write above reaped on this thread)
    assert forget_expired_sessions(runtime) == 1
    assert list(cache._data) == ["closed just now"]
    assert expired_on == ["event-loop"]  # the only thread that may touch the store
    # shut down as Streamlit shuts a closed session down, its state emptied: whatever
    # still refers to the session object no longer holds the cohort
    assert old.shut_down_on == ["event-loop"] and old.session_state == {}
    assert not new.shut_down_on and new.session_state == {"blinastudy.store": "cohort B"}
    assert forget_expired_sessions(runtime) == 0


def test_another_streamlit_is_left_alone() -> None:
    assert forget_expired_sessions(SimpleNamespace()) == 0


def test_the_pinned_streamlit_has_what_the_forgetting_reads() -> None:
    """An upgrade that renames these must fail here, not silently keep sessions."""
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.memory_session_storage import MemorySessionStorage
    from streamlit.runtime.runtime import AsyncObjects, Runtime
    from streamlit.runtime.state.session_state import SessionState
    from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

    assert "_async_objs" in Runtime.__init__.__code__.co_names
    assert "eventloop" in AsyncObjects.__annotations__
    assert "_session_storage" in WebsocketSessionManager.__init__.__code__.co_names
    assert callable(MemorySessionStorage()._cache.expire)  # type: ignore[attr-defined]
    assert callable(AppSession.shutdown) and isinstance(AppSession.session_state, property)
    assert callable(SessionState.clear)


def test_test_servers_run_with_the_allocator_that_returns_memory() -> None:
    from tests._server import server_env

    env = server_env({})
    assert allocator_returns_memory(env)
    assert MEMORY_ENV.items() <= env.items()
