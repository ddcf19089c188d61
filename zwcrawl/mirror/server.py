"""MirrorServer: a saved copy of the site served on 127.0.0.1, one port per edition, faults on request."""

from __future__ import annotations

import gzip
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from urllib.parse import urlsplit

from zwcrawl.mirror import conditional
from zwcrawl.mirror.faults import Faults
from zwcrawl.mirror.files import (
    HOST_DIRS,
    MirrorError,
    SiteFiles,
    content_type,
    empty_listing_page,
    reencode,
    soft404_page,
    status_page,
)
from zwcrawl.mirror.log import LoggedRequest, RequestLog
from zwcrawl.site import EDITIONS, classify_path
from zwcrawl.wire import is_loopback, reason_phrase

_HTML = "text/html; charset=utf-8"
_PORT_PLACEHOLDER = re.compile(rb"\{\{port:(\w+)\}\}")


class MirrorServer:
    """Serve site roots (zwsite layout; the first root that has a file wins) with one port per edition."""

    def __init__(
        self,
        root: Path | str | Sequence[Path | str],
        *,
        editions: Iterable[str] = EDITIONS,
        host: str = "127.0.0.1",
        ports: dict[str, int] | None = None,
        faults: Path | str | dict | None = None,
        log_path: Path | str | None = None,
        validators: bool = False,
    ):
        self.files = SiteFiles(root)
        editions = list(editions)
        unknown = [e for e in editions if e not in EDITIONS]
        if unknown:
            raise MirrorError(f"unknown edition {unknown[0]!r}: choose from {', '.join(EDITIONS)}")
        present = self.files.editions()
        self.editions = [e for e in editions if e in present]
        if not self.editions:
            wanted = " or ".join(HOST_DIRS[e] for e in editions)
            raise MirrorError(f"{self.files.roots[0]}: no site to serve (expected a directory {wanted})")
        if not is_loopback(host):
            # The mirror serves an archive: it must never be reachable from another machine by accident.
            raise MirrorError(f"refusing to listen on {host}: the mirror binds to a loopback address only")
        self.host = host
        self.ports = _check_ports(ports or {})
        # Off by default: a crawl that sends validators would then get 304s, and tests count what is served.
        self.validators = validators
        self.faults = Faults.load(faults if faults is not None else self._site_faults())
        self.base_urls: dict[str, str] = {}
        self._log = RequestLog(log_path)
        self._robots = {edition: self.files.robots(edition) for edition in self.editions}
        self._servers: list[_EditionServer] = []

    def _site_faults(self) -> dict | None:
        configs = (SiteFiles.config(root) for root in self.files.roots)
        return next((c for c in configs if set(c) - {"extends"}), None)

    @property
    def log_path(self) -> Path | None:
        """The JSON-lines file the requests are appended to, if any."""
        return self._log.path

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request received so far, in order."""
        return self._log.entries

    def start(self) -> MirrorServer:
        """Listen on one port per edition (0: any free port) and serve in daemon threads."""
        if self._servers:
            return self
        if self._log.path:
            try:
                self._log.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise MirrorError(f"cannot write the request log {self._log.path}: {exc.strerror}") from None
        for edition in self.editions:
            port = self.ports.get(edition, 0)
            try:
                server = _EditionServer(self, edition, (self.host, port))
            except OSError as exc:
                self.stop()
                reason = exc.strerror or exc
                raise MirrorError(f"cannot listen on {self.host}:{port} for {edition}: {reason}") from None
            self._servers.append(server)
            # A short poll interval makes stop() quick: shutdown() waits for the serving loop to notice.
            serve = threading.Thread(
                target=server.serve_forever, args=(0.05,), name=f"mirror-{edition}", daemon=True
            )
            serve.start()
            bound_host, bound_port = server.server_address[:2]
            shown = f"[{bound_host}]" if ":" in bound_host else bound_host
            self.base_urls[edition] = f"http://{shown}:{bound_port}"
        return self

    def stop(self) -> None:
        """Stop listening; connections in progress end on their own."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> MirrorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def site_args(self) -> list[str]:
        """The values to pass as `zwcrawl crawl --site` to crawl this mirror."""
        return [f"{edition}={base}" for edition, base in self.base_urls.items()]

    def url(self, edition: str, path: str = "/") -> str:
        """The mirror's URL for a path on an edition."""
        return self.base_urls[edition] + path

    def _response(
        self, edition: str, raw_path: str, rule: dict
    ) -> tuple[int, dict[str, str], bytes, Path | None]:
        """Status, headers, body and the file served (None for a page made up) for a GET, before transfer
        faults (gzip, truncation) are applied."""
        if "redirect" in rule or "status" in rule:
            status = rule.get("status", 301)
            headers = {"Content-Type": _HTML}
            if "redirect" in rule:
                headers["Location"] = rule["redirect"]
            if "retry_after" in rule:
                headers["Retry-After"] = str(rule["retry_after"])
            return status, headers, status_page(status, _reason(status)), None
        if rule.get("soft404"):
            return 200, {"Content-Type": _HTML}, soft404_page(edition), None
        path = self.files.find(edition, raw_path)
        if path is None:
            listing = classify_path(edition, urlsplit(raw_path).path)
            if rule.get("next_forever") and listing.kind == "listing":
                body = empty_listing_page(edition, listing.section_id, listing.page)
                return 200, {"Content-Type": _HTML}, body, None
            return 404, {"Content-Type": _HTML}, status_page(404, "Not Found"), None
        body = path.read_bytes()
        media, charset = content_type(path, body)
        if rule.get("fill_ports"):
            body = _PORT_PLACEHOLDER.sub(self._port_of, body)
        if charset and rule.get("encoding"):
            body = reencode(body, charset, rule["encoding"])
            charset = rule["encoding"]
        if charset and rule.get("charset_header", True):
            media = f"{media}; charset={charset}"
        return 200, {"Content-Type": media}, body, path

    def _port_of(self, match: re.Match) -> bytes:
        base = self.base_urls.get(match.group(1).decode())
        return base.rsplit(":", 1)[1].encode() if base else match.group(0)

    def _record(self, handler: _Handler, status: int | None, sent: int, rule: dict) -> None:
        edition = handler.server.edition
        user_agent = handler.headers.get("User-Agent") or "*"
        self._log.add(
            LoggedRequest(
                edition=edition,
                method=handler.command,
                path=handler.path,
                headers=dict(handler.headers.items()),
                status=status,
                bytes_sent=sent,
                time=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                origin=self.base_urls.get(edition, ""),
                robots_allowed=self._robots[edition].can_fetch(user_agent, handler.path),
                faults=sorted(rule),
            )
        )


class _EditionServer(ThreadingHTTPServer):
    """One edition's listening socket."""

    daemon_threads = True

    def __init__(self, mirror: MirrorServer, edition: str, address: tuple[str, int]):
        self.mirror = mirror
        self.edition = edition
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on a machine without DNS.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-answer is routine for a crawler under test, not worth a traceback.
        pass


class _Handler(BaseHTTPRequestHandler):
    """Answer one request from the site files, applying the fault rules for its path."""

    server: _EditionServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is closed after this many seconds

    def version_string(self) -> str:
        return "zwcrawl-mirror"

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _refuse(self) -> None:
        # The mirror never accepts a form: a POST (a comment, a vote by form) is logged and refused.
        self.close_connection = True
        body = status_page(405, "Method Not Allowed")
        self.server.mirror._record(self, 405, len(body), {})
        self._send(405, {"Content-Type": _HTML, "Allow": "GET, HEAD"}, body, body)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def _answer(self, send_body: bool) -> None:
        # Each request is logged before its answer goes out: a client that has an answer finds it in the log.
        mirror = self.server.mirror
        rule = mirror.faults.rule_for(self.server.edition, self.path)
        if rule.get("delay"):
            time.sleep(rule["delay"])
        if rule.get("reset"):
            mirror._record(self, None, 0, rule)
            self._reset(partial_headers=rule["reset"] == "headers")
            return
        status, headers, body, source = mirror._response(self.server.edition, self.path, rule)
        if rule.get("gzip"):
            headers["Vary"] = "Accept-Encoding"
            if _accepts_gzip(self.headers.get("Accept-Encoding", "")):
                # mtime=0: the same page gzips to the same bytes, so a recrawl can write a revisit.
                body = gzip.compress(body, mtime=0)
                headers["Content-Encoding"] = "gzip"
        if mirror.validators and source is not None and status == 200:
            tags = conditional.validators(source, body)
            headers.update(tags)
            if conditional.not_modified(self.headers, tags):
                self._not_modified({**tags, **({"Vary": headers["Vary"]} if "Vary" in headers else {})}, rule)
                return
        payload = body if send_body else b""
        if send_body and "truncate" in rule:
            # Content-Length promises the whole body; the connection closes after the first N bytes.
            payload = body[: rule["truncate"]]
            self.close_connection = True
        with_length = rule.get("content_length", True)
        if not with_length:
            # No Content-Length: the body ends where the connection closes, so a cut looks complete.
            self.close_connection = True
        mirror._record(self, status, len(payload), rule)
        self._send(status, headers, body, payload, with_length)

    def _send(
        self, status: int, headers: dict[str, str], body: bytes, payload: bytes, with_length: bool = True
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if with_length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _not_modified(self, headers: dict[str, str], rule: dict) -> None:
        """304 Not Modified: the validators and Vary the 200 would carry, and no body (RFC 9110 15.4.5)."""
        self.server.mirror._record(self, 304, 0, rule)
        self.send_response(304)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _reset(self, partial_headers: bool) -> None:
        if partial_headers:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/ht")
        # SO_LINGER 0: closing sends a TCP reset instead of an orderly end of stream.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        # Quiet: the request log records every request; stderr stays for the crawler under test.
        pass


def serve_forever(
    root: Path | str | Sequence[Path | str],
    ports: dict[str, int] | None = None,
    *,
    host: str = "127.0.0.1",
    log_path: Path | str | None = None,
    echo: Callable[[str], object] | None = None,
    validators: bool = False,
) -> None:
    """Serve a site copy until Ctrl-C, printing each edition's base URL and its `--site` argument."""
    echo = echo or _print_now
    try:
        with MirrorServer(root, ports=ports, host=host, log_path=log_path, validators=validators) as mirror:
            for edition, base in mirror.base_urls.items():
                echo(f"{edition}  {base}  --site {edition}={base}")
            sites = " ".join(f"--site {arg}" for arg in mirror.site_args())
            echo(f"zwcrawl crawl {sites}   (Ctrl-C stops)")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how the mirror stops, whenever it comes; leaving the block closed the ports


def _print_now(line: str) -> None:
    # Flushed at once: whoever started the mirror may be reading its base URLs through a pipe.
    print(line, flush=True)


def _accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip() in ("gzip", "x-gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _check_ports(ports: dict[str, int]) -> dict[str, int]:
    for edition, port in ports.items():
        if edition not in EDITIONS:
            raise MirrorError(f"unknown edition {edition!r} for a port: choose from {', '.join(EDITIONS)}")
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise MirrorError(f"bad port for {edition}: {port!r} (0-65535, 0 for any free port)")
    return dict(ports)


def _reason(status: int) -> str:
    return reason_phrase(status) or "Status"
