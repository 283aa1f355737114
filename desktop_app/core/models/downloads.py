"""Safe, resumable model downloads: a cancellable generator of progress.

Order of work: check free disk space; write to FILE.part; resume with `Range: bytes=N-` and
insist the server answers 206 from offset N (a server that ignores Range sends the whole file
with 200: the partial file is then restarted, never appended to); verify size and checksum; only
then rename atomically into place. A checksum mismatch deletes the file and says so. Cancelling
(closing the generator) keeps the partial file for the next attempt. TLS is verified.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app.core.errors import DownloadError
from desktop_app.core.files import file_digest, file_size

__all__ = ["DownloadProgress", "download"]

_BLOCK = 1 << 20
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    bytes_done: int
    bytes_total: int | None
    bytes_per_second: float
    seconds_left: float | None
    restarted: bool = False  # the server ignored the resume request: started from zero

    def describe(self) -> str:
        """"312/1,117 MB at 5.2 MB/s, 155 s left"."""
        total = f"/{self.bytes_total / 1e6:,.0f}" if self.bytes_total else ""
        left = f", {self.seconds_left:.0f} s left" if self.seconds_left is not None else ""
        return f"{self.bytes_done / 1e6:,.0f}{total} MB at {self.bytes_per_second / 1e6:.1f} MB/s{left}"


def download(
    url: str, destination: Path, size_bytes: int | None = None, sha256: str | None = None,
    md5: str | None = None, retries: int = 3, timeout: float = 30.0,
) -> Generator[DownloadProgress, None, Path]:
    """Fetch `url` to `destination`; yields progress, returns the verified file's path."""
    partial = destination.with_name(destination.name + ".part")
    destination.parent.mkdir(parents=True, exist_ok=True)
    _check_disk(destination.parent, size_bytes, partial)
    attempt = 0
    while True:
        try:
            yield from _fetch(url, partial, size_bytes, timeout)
            break
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            attempt += 1
            if isinstance(exc, urllib.error.HTTPError) and exc.code < 500:
                raise DownloadError(f"the server refused the download: HTTP {exc.code}") from exc
            if attempt > retries:
                raise DownloadError(
                    f"the connection failed ({exc}); {file_size(partial)} bytes are kept: "
                    "download again to resume") from exc
            time.sleep(min(2.0 * attempt, 5.0))
    _verify(partial, size_bytes, sha256, md5)
    os.replace(partial, destination)
    return destination


def _check_disk(folder: Path, size_bytes: int | None, partial: Path) -> None:
    if size_bytes is None:
        return
    needed = size_bytes - file_size(partial)
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise DownloadError(f"not enough disk space: {needed / 1e9:.1f} GB needed, "
                            f"{free / 1e9:.1f} GB free in {folder}")


def _fetch(url: str, partial: Path, size_bytes: int | None, timeout: float
           ) -> Generator[DownloadProgress, None, None]:
    offset = file_size(partial)
    if size_bytes is not None and offset >= size_bytes:
        return  # already complete (or too long: verification will say so)
    request = urllib.request.Request(url, headers={"User-Agent": "desktop-app"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    context = _tls_context()
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
        restarted = False
        if offset and not _resumes_at(response, offset):
            offset, restarted = 0, True  # Range ignored: the body is the whole file
        total = size_bytes or _total(response, offset)
        mode = "ab" if offset else "wb"
        started, done = time.monotonic(), offset
        with partial.open(mode) as handle:
            while True:
                block = response.read(_BLOCK)
                if not block:
                    break
                handle.write(block)
                done += len(block)
                elapsed = max(time.monotonic() - started, 1e-6)
                rate = (done - offset) / elapsed
                left = (total - done) / rate if total and rate > 0 else None
                yield DownloadProgress(done, total, rate, left, restarted)
        if total is not None and done < total:
            raise OSError(f"connection closed after {done} of {total} bytes")


def _tls_context() -> ssl.SSLContext:
    """The system's certificate authorities plus certifi's: an installed app carries its own
    OpenSSL, which looks for the system's store where the build machine keeps it (Debian's
    path), not where every distribution does; certifi's bundle ships inside the app."""
    context = ssl.create_default_context()
    try:
        import certifi

        context.load_verify_locations(cafile=certifi.where())
    except (ImportError, OSError):
        pass  # the system's store alone
    return context


def _resumes_at(response: Any, offset: int) -> bool:
    if response.status != 206:
        return False
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    return match is not None and int(match.group(1)) == offset


def _total(response: Any, offset: int) -> int | None:
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if match and match.group(3) != "*":
        return int(match.group(3))
    length = response.headers.get("Content-Length")
    return offset + int(length) if length else None


def _verify(partial: Path, size_bytes: int | None, sha256: str | None, md5: str | None) -> None:
    actual = file_size(partial)
    if size_bytes is not None and actual != size_bytes:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"the download has {actual} bytes instead of {size_bytes}: deleted, "
                            "try again")
    for name, expected in (("sha256", sha256), ("md5", md5)):
        if expected and file_digest(partial, name) != expected.lower():
            partial.unlink(missing_ok=True)
            raise DownloadError(f"{name} checksum mismatch: the file is not the published one "
                                "and was deleted")
