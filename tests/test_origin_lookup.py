"""A WebSocket handshake from a foreign Origin never makes Streamlit look up this
machine's external address on the internet (checkip.amazonaws.com, a blocking request).

In process: the origin check after :func:`pages.common.ui.never_look_up_external_ip`
makes no HTTP request and still refuses a foreign origin. With a real server: HTTP(S)
requests of the server process go through a local listener standing in for the
internet; a foreign-Origin handshake before any page has run reaches it (Streamlit's
own behaviour), and none does once a page has run. The reference proxy refuses foreign
Origins outright.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from streamlit import config as st_config
from streamlit import net_util
from streamlit.web.server import server_util
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from pages.common.ui import never_look_up_external_ip
from tests._browser import READY, chromium_page
from tests._server import ROOT, counting_listener, require_chromium, streamlit_server

FOREIGN = "https://evil.example"


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def fake_get(url: str, timeout: float = 5) -> str | None:
        calls.append(url)
        return None

    monkeypatch.setattr(net_util, "_make_blocking_http_get", fake_get)
    monkeypatch.setattr(net_util, "_external_ip", None)
    monkeypatch.setattr(net_util, "_internal_ip", "10.0.0.1")
    st_config.set_option("server.enableCORS", True)
    return calls


def test_streamlit_alone_looks_the_address_up_for_a_foreign_origin(lookups: list[str]) -> None:
    assert not server_util.is_url_from_allowed_origins(FOREIGN)
    assert lookups == ["http://checkip.amazonaws.com", "https://checkip.amazonaws.com"]


def test_the_pinned_address_makes_no_lookup_and_allows_nothing_new(lookups: list[str]) -> None:
    never_look_up_external_ip()
    for _ in range(3):
        assert not server_util.is_url_from_allowed_origins(FOREIGN)
    assert server_util.is_url_from_allowed_origins("http://127.0.0.1:8501")
    assert server_util.is_url_from_allowed_origins("http://localhost:3000")
    assert lookups == []


def test_the_reference_proxy_refuses_foreign_origins() -> None:
    conf = (ROOT / "docs" / "deploy" / "nginx.conf").read_text()
    assert "map $http_origin $blinastudy_foreign_origin" in conf
    block = conf.split("location / {", 1)[1].split("proxy_pass", 1)[0]
    assert "if ($blinastudy_foreign_origin)" in block and "return 403;" in block


@pytest.fixture
def internet() -> Iterator[tuple[str, list[str]]]:
    """A forward proxy that answers nothing: it counts what would have left."""
    with counting_listener(502, ("GET", "CONNECT")) as (port, hits):
        yield f"http://127.0.0.1:{port}", hits


def _foreign_handshake(url: str) -> None:
    """Open the app's WebSocket from a foreign Origin: it must be refused."""
    with pytest.raises(InvalidStatus) as refused:
        connect(url.replace("http://", "ws://") + "/_stcore/stream", origin=Origin(FOREIGN))
    assert refused.value.response.status_code == 403


@pytest.mark.browser
def test_a_real_server_never_looks_up_its_address_once_a_page_has_run(
    internet: tuple[str, list[str]], tmp_path: Any
) -> None:
    proxy, hits = internet
    env = {
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
        "http_proxy": proxy,
        "https_proxy": proxy,
        "NO_PROXY": "",
        "no_proxy": "",
    }
    require_chromium()
    with streamlit_server(tmp_path / "streamlit.log", env=env) as server:
        # Streamlit on its own, before any page has run: the lookup goes out
        _foreign_handshake(server.url)
        assert hits
        hits.clear()
        with chromium_page() as page:
            page.goto(server.url)
            page.wait_for_selector(READY)
        for _ in range(3):
            _foreign_handshake(server.url)
    assert hits == []
