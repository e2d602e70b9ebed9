"""A real ``streamlit run app.py`` server on a free localhost port, for browser tests."""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from pages.common.serving import MEMORY_ENV

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def rss_bytes(self) -> int:
        """Resident memory of the server and its child processes."""
        return sum(_rss(pid) for pid in _tree(self.proc.pid))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return bool(r.status == 200 and r.read().strip() == b"ok")
    except OSError:
        return False


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package "
            "(apt-get install chromium) to run the browser tests"
        )


def server_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a test server: this process's, no usage statistics, the
    allocator the README asks for (``PYTHONMALLOC=malloc``), then ``env``."""
    return {
        **os.environ,
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **MEMORY_ENV,
        **(env or {}),
    }


@contextlib.contextmanager
def streamlit_server(
    log: Path, env: dict[str, str] | None = None, script: Path | str = "app.py"
) -> Iterator[Server]:
    """Run ``script`` (default: the app) headless on 127.0.0.1; stdout and stderr go to ``log``.

    A relative ``script`` is taken from the repository root.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = server_env(env)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(script),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
        try:
            deadline = time.monotonic() + 90
            while not _healthy(url):
                if proc.poll() is not None:
                    pytest.fail(f"streamlit exited with {proc.returncode}; see {log}")
                if time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not become healthy in 90 s; see {log}")
                time.sleep(0.5)
            yield Server(url, proc, log)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


@contextlib.contextmanager
def counting_listener(status: int, methods: Sequence[str]) -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server that answers every request of ``methods`` with ``status``.

    Yields its port on 127.0.0.1 and the list of the paths it was asked for
    (requests of other methods get HTTP's "unsupported method" and are not listed).
    """
    hits: list[str] = []

    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        hits.append(handler.path)
        handler.send_response(status)
        handler.end_headers()

    def quiet(handler: http.server.BaseHTTPRequestHandler, *args: object) -> None:
        return

    handler = type(
        "Counter",
        (http.server.BaseHTTPRequestHandler,),
        {"log_message": quiet, **{f"do_{m}": answer for m in methods}},
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd.server_address[1], hits
    finally:
        httpd.shutdown()
        httpd.server_close()
