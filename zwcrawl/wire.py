"""HTTP facts shared by the capture, the WARC writer, the mirror and the crawl: reason phrases, loopback."""

from __future__ import annotations

import ipaddress
from http import HTTPStatus


def reason_phrase(status: int) -> str:
    """The standard reason phrase of an HTTP status ("Not Found"), or "" for a code without one."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def is_loopback(host: str) -> bool:
    """Whether a host name or address (IPv6 with or without brackets) is this machine's loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
