"""A local mirror of the site for tests and the demo: saved pages on 127.0.0.1, with faults on request."""

from __future__ import annotations

from zwcrawl.mirror.files import MirrorError
from zwcrawl.mirror.log import LoggedRequest, read_request_log
from zwcrawl.mirror.server import MirrorServer, serve_forever

__all__ = ["LoggedRequest", "MirrorError", "MirrorServer", "read_request_log", "serve_forever"]
