"""`zwcrawl serve`: the archive in Datasette, read-only, on 127.0.0.1, safe beside a running crawl."""

from __future__ import annotations

import signal
import socket
import sqlite3
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path

from datasette.app import Datasette
from datasette.database import Database
from datasette.plugins import pm

from zwcrawl.serve import plugin
from zwcrawl.serve.metadata import DATABASE, archive_metadata
from zwcrawl.store import Store, read_only_uri

HOST = "127.0.0.1"  # loopback only: the archive is not published by accident

_SETTINGS = {
    # Local and single-user: a slower query may run longer than on a public instance.
    "sql_time_limit_ms": 5000,
    "facet_time_limit_ms": 2000,
    "truncate_cells_html": 160,  # bodies are long; the row page shows them whole
    "default_page_size": 50,
    # The five facets people use are configured; suggesting others runs a query per column on every page,
    # which on a large archive costs more than the page itself.
    "suggest_facets": False,
}


class _ReadOnlyArchive(Database):
    """The archive database, opened mode=ro on every connection; a write connection is refused."""

    # mode=ro, not immutable=1: immutable tells SQLite the file never changes, so it takes no locks and
    # ignores the WAL; beside a crawl (WAL mode) that shows stale rows or reads a page mid-checkpoint.
    # mode=ro reads through the WAL under SQLite's normal locking: every query sees one committed state.
    # Datasette opens a connection per thread through this method, so these are not the Store's.
    def connect(self, write: bool = False):
        if write:
            raise PermissionError("zwcrawl serve is read-only")
        conn = sqlite3.connect(read_only_uri(self.path), uri=True, check_same_thread=False)
        self._all_file_connections.append(conn)
        return conn


def archive_datasette(db_path: Path) -> Datasette:
    """A Datasette serving the archive at db_path as `zwcrawl`, with zwcrawl's metadata and plugin."""
    with Store(
        db_path, read_only=True
    ) as store:  # refuses what is not an archive of this version, in one line
        metadata = archive_metadata(store.db.conn)
    if pm.get_plugin("zwcrawl") is None:
        pm.register(plugin, name="zwcrawl")
    datasette = Datasette(metadata=metadata, settings=_SETTINGS)
    datasette.remove_database("_memory")  # Datasette adds it when given no files; it is not the archive
    datasette.add_database(_ReadOnlyArchive(datasette, path=str(db_path)), name=DATABASE)
    return datasette


def serve_archive(
    db_path: Path, port: int, *, open_browser: bool = False, started: Callable[[str], None] = print
) -> None:
    """Serve the archive on 127.0.0.1:port (0: any free port) until interrupted."""
    import uvicorn

    datasette = archive_datasette(db_path)
    # Bound here, before uvicorn, so a port in use is one clear error rather than uvicorn's log lines.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((HOST, port))
        listener.listen(128)  # connections wait in the backlog from now on, even before uvicorn runs
    except OSError as exc:
        listener.close()
        raise OSError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
    url = f"http://{HOST}:{listener.getsockname()[1]}/{DATABASE}"
    server = uvicorn.Server(uvicorn.Config(datasette.app(), log_level="warning", lifespan="on"))
    started(url)
    if open_browser:
        threading.Thread(target=_open_when_up, args=(server, url), daemon=True).start()
    # uvicorn stops gracefully on SIGINT or SIGTERM, then raises the signal again for whoever handled it
    # before: both end here as KeyboardInterrupt, and a server stopped on purpose exits 0 without a word.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _open_when_up(server, url: str) -> None:
    """Open the browser once the server answers, not before."""
    import time

    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    webbrowser.open(url)
