"""Servers' addresses: which ones the app may send keys and passages to."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["server_url_problem"]


def server_url_problem(url: str, allow_http: bool) -> str:
    """Why an inference server's address cannot be used, or ""."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http:// or https:// address"
    if parts.scheme == "http" and not allow_http and not _loopback(parts.hostname):
        return (f"{url!r} would send your API key and passages unencrypted; use https://, or "
                "set server_allow_http=true if this network is trusted")
    return ""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
