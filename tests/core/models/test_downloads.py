"""Downloads against real HTTP servers on 127.0.0.1: resuming, Range ignored, drops, bad bytes."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from desktop_app.core.errors import DownloadError
from desktop_app.core.models.downloads import DownloadProgress, download

BODY = bytes(range(256)) * 8192  # 2 MiB
SHA = hashlib.sha256(BODY).hexdigest()


class Server:
    """Serves BODY; `mode` picks the misbehaviour. Records the Range header of each request."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.ranges: list[str | None] = []
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                owner.requests += 1
                header = self.headers.get("Range")
                owner.ranges.append(header)
                body = b"x" * len(BODY) if owner.mode == "wrong" else BODY
                start = int(header.split("=")[1].rstrip("-")) if header and owner.mode != "ignore" else 0
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if owner.mode == "drop" and owner.requests == 1:
                    self.wfile.write(payload[: len(payload) // 3])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/model.gguf"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture
def server(request) -> Iterator[Server]:
    running = Server(getattr(request, "param", "normal"))
    yield running
    running.close()


def run(generator) -> tuple[list[DownloadProgress], Path]:
    events = []
    while True:
        try:
            events.append(next(generator))
        except StopIteration as stop:
            return events, stop.value


def test_a_download_is_verified_and_renamed_into_place(server, tmp_path):
    events, path = run(download(server.url, tmp_path / "m.gguf", len(BODY), SHA))
    assert path.read_bytes() == BODY and not (tmp_path / "m.gguf.part").exists()
    assert events[-1].bytes_done == events[-1].bytes_total == len(BODY)
    assert events[-1].bytes_per_second > 0


def test_a_cancelled_download_resumes_from_where_it_stopped(server, tmp_path):
    generator = download(server.url, tmp_path / "m.gguf", len(BODY), SHA)
    next(generator)
    generator.close()  # the user cancelled after the first megabyte
    kept = (tmp_path / "m.gguf.part").stat().st_size
    assert 0 < kept < len(BODY)
    _, path = run(download(server.url, tmp_path / "m.gguf", len(BODY), SHA))
    assert server.ranges[-1] == f"bytes={kept}-"
    assert path.read_bytes() == BODY


@pytest.mark.parametrize("server", ["ignore"], indirect=True)
def test_a_server_that_ignores_range_restarts_cleanly(server, tmp_path):
    (tmp_path / "m.gguf.part").write_bytes(BODY[:1000])
    events, path = run(download(server.url, tmp_path / "m.gguf", len(BODY), SHA))
    assert server.ranges == ["bytes=1000-"] and events[0].restarted
    assert path.read_bytes() == BODY  # not 1000 bytes too many


@pytest.mark.parametrize("server", ["drop"], indirect=True)
def test_a_dropped_connection_is_resumed(server, tmp_path):
    _, path = run(download(server.url, tmp_path / "m.gguf", len(BODY), SHA))
    assert path.read_bytes() == BODY
    assert server.requests == 2 and server.ranges[1].startswith("bytes=")


@pytest.mark.parametrize("server", ["wrong"], indirect=True)
def test_wrong_bytes_are_deleted_and_reported(server, tmp_path):
    with pytest.raises(DownloadError, match="sha256 checksum mismatch"):
        run(download(server.url, tmp_path / "m.gguf", len(BODY), SHA))
    assert not (tmp_path / "m.gguf").exists() and not (tmp_path / "m.gguf.part").exists()


def test_not_enough_disk_space_is_said_before_downloading(server, tmp_path):
    with pytest.raises(DownloadError, match="not enough disk space"):
        run(download(server.url, tmp_path / "m.gguf", 10**18, SHA))
    assert server.requests == 0


def test_downloads_verify_tls_against_certificate_authorities_that_ship_with_the_app():
    import ssl

    from desktop_app.core.models.downloads import _tls_context

    context = _tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    # certifi's bundle alone: found wherever the system keeps (or lacks) its own store.
    assert context.cert_store_stats()["x509_ca"] > 100
