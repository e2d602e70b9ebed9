"""Patient data in transit stays in memory: uploads are not spooled to /tmp by the web
server, and the PDF step's scratch files live on a memory-backed folder."""

from __future__ import annotations

import asyncio
import os
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from streamlit.testing.v1 import AppTest

from blinastudy.report import html
from pages.common.serving import FRAMING, keep_uploads_in_memory, release_ended_sessions

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def default_spool() -> Iterator[None]:
    before = MultiPartParser.spool_max_size
    MultiPartParser.spool_max_size = 1024 * 1024
    yield
    MultiPartParser.spool_max_size = before


def _upload(size: int) -> UploadFile:
    """What Starlette's parser makes of a multipart upload of ``size`` bytes."""
    boundary = "xyzzy"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + b"x" * size
        + f"\r\n--{boundary}--\r\n".encode()
    )
    scope = {
        "type": "http",
        "method": "PUT",
        "path": "/",
        "headers": [
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]

    async def receive() -> dict[str, object]:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def parse() -> UploadFile:
        form = await Request(scope, receive).form()
        value = form["file"]
        assert isinstance(value, UploadFile)
        return value

    return asyncio.run(parse())


def _on_disk(upload: UploadFile) -> bool:
    return bool(getattr(upload.file, "_rolled", True))


def test_by_default_the_web_server_spools_a_large_upload_to_disk(default_spool: None) -> None:
    upload = _upload(3 * 1024 * 1024)
    try:
        assert _on_disk(upload)
    finally:
        upload.file.close()


def test_uploads_up_to_the_limit_stay_in_memory(default_spool: None) -> None:
    keep_uploads_in_memory(5)
    assert MultiPartParser.spool_max_size == 5 * 1024 * 1024 + FRAMING
    upload = _upload(5 * 1024 * 1024)
    try:
        assert not _on_disk(upload)
        assert len(upload.file.read()) == 5 * 1024 * 1024
    finally:
        upload.file.close()


def test_the_app_raises_the_threshold_to_its_upload_limit(default_spool: None) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    limit = int(config["server"]["maxUploadSize"])
    assert limit > 1
    assert MultiPartParser.spool_max_size >= limit * 1024 * 1024


def test_the_pdf_scratch_folder_is_in_memory_where_the_system_has_one(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("tmpfs /dev/shm tmpfs rw 0 0\n/dev/sda1 / ext4 rw 0 0\n")
    expected = "/dev/shm" if os.access("/dev/shm", os.W_OK | os.X_OK) else None
    assert html.memory_folder(str(mounts)) == expected
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\n/dev/sda2 /dev/shm ext4 rw 0 0\n")
    assert html.memory_folder(str(mounts)) is None
    assert html.memory_folder(str(tmp_path / "absent")) is None


def test_chromium_reads_and_writes_in_the_memory_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    fake = tmp_path / "chromium"
    fake.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do case "$a" in --print-to-pdf=*) out="${a#--print-to-pdf=}";; esac; done\n'
        'printf "%%PDF-1.4 fake" > "$out"\n'
    )
    fake.chmod(0o755)
    memory = tmp_path / "memory"
    memory.mkdir()
    monkeypatch.setattr(html, "memory_folder", lambda: str(memory))
    real = tempfile.TemporaryDirectory

    def recording(*args: Any, **kwargs: Any) -> tempfile.TemporaryDirectory[str]:
        seen.append(str(kwargs.get("dir")))
        return real(*args, **kwargs)

    # html calls tempfile.TemporaryDirectory: patch it in the tempfile module
    monkeypatch.setattr(tempfile, "TemporaryDirectory", recording)
    data = html.pdf_report("<p>x</p>", chromium=str(fake), use_weasyprint=False)
    assert data is not None and data.startswith(b"%PDF")
    assert seen == [str(memory)]
    assert list(memory.iterdir()) == []


class _Sessions:
    """The session manager's view: which sessions are connected or awaiting a reconnect."""

    def __init__(self, alive: set[str]) -> None:
        self.alive = alive

    def get_session_info(self, session_id: str) -> object | None:
        return object() if session_id in self.alive else None


class _Runtime:
    def __init__(self, alive: set[str]) -> None:
        from streamlit.runtime.media_file_manager import MediaFileManager
        from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
        from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

        self._session_mgr = _Sessions(alive)
        self.uploaded_file_mgr = MemoryUploadedFileManager("/_stcore/upload_file")
        self.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/media"))


def test_an_ended_session_leaves_no_uploaded_file_in_memory() -> None:
    from streamlit.runtime.uploaded_file_manager import UploadedFileRec

    runtime = _Runtime({"open", "reconnecting"})
    for sid in ("open", "reconnecting", "ended"):
        runtime.uploaded_file_mgr.add_file(
            sid, UploadedFileRec(f"f-{sid}", "cohort.csv", "text/csv", b"patient_id\nP1\n")
        )
    assert release_ended_sessions(runtime) == 1
    assert set(runtime.uploaded_file_mgr.file_storage) == {"open", "reconnecting"}
    assert release_ended_sessions(runtime) == 0


def test_the_pinned_streamlit_has_what_the_release_reads() -> None:
    """The release reads the runtime's session manager and the upload store: an upgrade
    that renames them must fail here, not silently keep files."""
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.runtime import Runtime
    from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

    assert "_session_mgr" in Runtime.__init__.__code__.co_names
    assert hasattr(WebsocketSessionManager, "get_session_info")
    assert "file_storage" in MemoryUploadedFileManager("/x").__dict__


def test_a_page_opened_by_its_own_address_keeps_uploads_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page run without app.py (a deep link on a cold server) sets the protections too."""
    from starlette.formparsers import MultiPartParser
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(MultiPartParser, "spool_max_size", 1024)
    at = AppTest.from_file(
        str(Path(__file__).resolve().parents[1] / "pages" / "matching.py"), default_timeout=120
    ).run()
    assert not at.exception
    assert MultiPartParser.spool_max_size > 50 * 1024 * 1024
