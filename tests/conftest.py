"""Shared fixtures: the saved site copies, local mirrors of them, a zwcrawl runner, and the safety check."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, settings

from zwcrawl.mirror import LoggedRequest, MirrorServer
from zwcrawl.site import classify_path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ZWSITE = FIXTURES / "zwsite"

# Hypothesis (tests/test_fuzz.py). "ci", the default: the same examples on every run (derandomized, no example
# database), few enough that the fuzz module stays under a minute. "long" (HYPOTHESIS_PROFILE=long): many
# more, random each run, for a local hunt. No wall-clock deadline: test_fuzz gives each example a budget of
# CPU time instead, which a busy machine cannot make flaky.
_FUZZ = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("ci", derandomize=True, database=None, max_examples=60, **_FUZZ)
settings.register_profile("long", max_examples=3000, **_FUZZ)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The suite runs on two workers (pytest-xdist, `-n 2 --dist loadfile` in pyproject.toml: a module's tests
# on one worker, so its module fixtures are made once). The longest modules are handed out first, so that
# neither worker is left running one of them alone at the end; the rest keep their order.
LONGEST_FIRST = ("test_soak.py", "test_readers.py", "test_conditional.py", "test_disk_full.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the longest modules first (a stable sort: the same order on every worker, as xdist requires)."""

    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


# URL kinds that are never pages of the archive: a GET on a vote link casts a vote, the rest are forms.
_FORBIDDEN_KINDS = frozenset({"vote", "print", "comment", "captcha", "search"})


@pytest.fixture(scope="session")
def zwsite() -> Path:
    """The saved copy of the site (tests/fixtures/zwsite)."""
    return ZWSITE


@pytest.fixture(scope="session")
def faultsite() -> Path:
    """zwsite with the faults live sites show (see its README)."""
    return FIXTURES / "faultsite"


@pytest.fixture(scope="session")
def trapsite() -> Path:
    """zwsite full of links a crawler must never request (see its README)."""
    return FIXTURES / "trapsite"


@pytest.fixture
def mirror_factory(tmp_path: Path) -> Iterator[Callable[..., MirrorServer]]:
    """Start mirrors of any root with any options (free ports, a log in tmp_path); all stopped afterwards."""
    started: list[MirrorServer] = []

    def start(root: Path | list[Path] = ZWSITE, **options) -> MirrorServer:
        options.setdefault("log_path", tmp_path / f"mirror-{len(started) + 1}.jsonl")
        server = MirrorServer(root, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def mirror(mirror_factory: Callable[..., MirrorServer], tmp_path: Path) -> MirrorServer:
    """A started mirror of zwsite on free ports, logging to tmp_path/mirror.jsonl."""
    return mirror_factory(ZWSITE, log_path=tmp_path / "mirror.jsonl")


@pytest.fixture
def run_zwcrawl(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m zwcrawl ARGS` in tmp_path (so ./archive lands there), with a timeout."""

    def run(
        *args: object, timeout: float = 120, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "zwcrawl", *map(str, args)],
            cwd=cwd or tmp_path,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


def zwcrawl(*args: object, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run the real command line to its end (`from conftest import zwcrawl`); a crawl owns its reactor."""
    return subprocess.run(
        [sys.executable, "-m", "zwcrawl", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def as_from_a_terminal() -> None:
    """Popen's preexec_fn for a child that must stop on SIGINT: the default disposition a shell gives it.

    A child inherits an ignored SIGINT, and Python then leaves it ignored: a Ctrl-C test would wait for ever
    if anything in the test process had ignored it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def site_flags(mirror: MirrorServer) -> list[str]:
    """`--site EDITION=BASE` for every edition a mirror serves."""
    return [arg for spec in mirror.site_args() for arg in ("--site", spec)]


def forbidden_requests(requests: Iterable[LoggedRequest | dict]) -> list[LoggedRequest]:
    """The logged requests a crawler must never make (`from conftest import forbidden_requests`)."""
    # Not GET/HEAD (a form), a vote/print/comment/captcha/search URL, robots-disallowed, or the mirror
    # reached under another host name than its base URL (a link such as http://localhost:PORT/ followed).
    bad = []
    for request in requests:
        if isinstance(request, dict):
            request = LoggedRequest.from_dict(request)
        kind = classify_path(request.edition, urlsplit(request.path).path).kind
        host = next((v for k, v in request.headers.items() if k.lower() == "host"), None)
        if (
            request.method not in ("GET", "HEAD")
            or kind in _FORBIDDEN_KINDS
            or not request.robots_allowed
            or (host is not None and host.lower() != urlsplit(request.origin).netloc.lower())
        ):
            bad.append(request)
    return bad


def _bump_counters(overlay: Path, likes: dict[tuple[str, str], tuple[str, str]]) -> None:
    """Copy article pages into an overlay root with their like counter changed: {(host, id): (old, new)}."""
    for (host, article_id), (old, new) in likes.items():
        page = ZWSITE / host / "news/article" / f"{article_id}.html"
        target = overlay / host / "news/article" / page.name
        target.parent.mkdir(parents=True, exist_ok=True)
        html = page.read_text("utf-8")
        assert f'<span class="like-count">({old})</span>' in html
        target.write_text(html.replace(f'like-count">({old})', f'like-count">({new})'), "utf-8")


@pytest.fixture(scope="session")
def small_archive(tmp_path_factory) -> Path:
    """An archive of three real crawls, for the read-only tools (serve, report): never write to it."""
    # Crawl 1 of the misbehaving copy leaves failures and missing ids; crawls 2 and 3 (--refresh) see
    # like counters rise, so a few articles have a time series of three observations.
    tmp = tmp_path_factory.mktemp("small-archive")
    archive = tmp / "archive"
    en, ar = ("en.zamanalwsl.net", "34489"), ("www.zamanalwsl.net", "87640")
    steps = [
        (FIXTURES / "faultsite", {}),
        (tmp / "overlay-2", {en: ("55", "58"), ar: ("120", "131")}),
        (tmp / "overlay-3", {en: ("55", "64"), ar: ("120", "150")}),
    ]
    for number, (root, likes) in enumerate(steps, 1):
        roots = root
        if likes:
            _bump_counters(root, likes)
            roots = [root, ZWSITE]
        server = MirrorServer(roots, log_path=tmp / f"mirror-{number}.jsonl").start()
        try:
            refresh = ["--refresh"] if number > 1 else []
            run = zwcrawl("crawl", "--archive", archive, *refresh, *site_flags(server))
        finally:
            server.stop()
        assert run.returncode == 0, run.stderr
    return archive


@contextmanager
def serving(archive: Path, *extra: str, stop: int = signal.SIGINT, env: dict[str, str] | None = None):
    """Run `zwcrawl serve --port 0` on an archive, yield (process, URL), then stop it (Ctrl-C by default).

    Once stopped, the process carries what it wrote: `process.out` and `process.err`.
    """
    server = subprocess.Popen(
        [sys.executable, "-m", "zwcrawl", "serve", "--archive", archive, "--port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
    )  # fmt: skip
    try:
        line = server.stdout.readline()
        assert line.startswith(f"serving {archive / 'zwcrawl.db'} read-only at http://127.0.0.1:"), line
        yield server, line.split(" at ")[1].split()[0]
    finally:
        server.send_signal(stop)
        server.out, server.err = server.communicate(timeout=30)


def fastwarc_check(path: Path, revisit_ids: set[str]) -> list[str]:
    """`fastwarc check -p` on one WARC file: what it finds wrong, less its known revisit mistake."""
    report = path.with_name(path.name + ".fastwarc")
    run = subprocess.run(
        [Path(sys.executable).parent / "fastwarc", "check", "-p", "-q", "-o", report, path],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    statuses = dict(line.split(": ", 1) for line in report.read_text().splitlines())
    report.unlink()
    # FastWARC 2.0 hashes a revisit's own (empty) payload, though WARC 1.1 (6.7.2) says a revisit's payload
    # digest is its original's, and requires it there. Every other record must pass outright.
    wrong = [
        f"{record_id}: {status}"
        for record_id, status in statuses.items()
        if status not in ("OK, PAYLOAD_OK", "OK, PAYLOAD_NO_DIGEST")
        and not (record_id in revisit_ids and status == "OK, PAYLOAD_FAIL")
    ]
    if not statuses or (run.returncode != 0) != any(s.endswith("FAIL") for s in statuses.values()):
        wrong.append(f"fastwarc exited {run.returncode}: {run.stdout}{run.stderr}")
    return wrong


def indexes_unlike_read_back(archive: Path, scratch: Path) -> list[str]:
    """The CDXJ indexes of an archive (each WARC file's, the merged one) unlike, byte for byte, what
    reading its files back with cdxj_indexer writes (`index_warc` on copies in `scratch`).

    The archive stays as it was: a session fixture's may be checked too."""
    from zwcrawl.warc import index_path, index_warc, merge_indexes

    copies = scratch / "read-back"
    copies.mkdir(parents=True)
    unlike = []
    for warc in sorted((archive / "warc").glob("*.warc.gz")):
        shutil.copyfile(warc, copies / warc.name)
        if index_path(warc).read_bytes() != index_warc(copies / warc.name).read_bytes():
            unlike.append(index_path(warc).name)
    if (archive / "warc" / "index.cdxj").read_bytes() != merge_indexes(copies).read_bytes():
        unlike.append("index.cdxj")
    return unlike


@pytest.fixture(scope="session")
def refreshed_archive(tmp_path_factory):
    """Both editions of a copy (English gzip) crawled, a page changed, crawled again with --refresh."""
    from types import SimpleNamespace

    from zwcrawl.site import Sites

    tmp = tmp_path_factory.mktemp("refreshed")
    site = tmp / "site"
    shutil.copytree(ZWSITE, site)
    server = MirrorServer(site, faults={"en": {"*": {"gzip": True}}}, log_path=tmp / "mirror.jsonl").start()
    archive = tmp / "archive"
    try:
        first = zwcrawl("crawl", "--archive", archive, *site_flags(server))
        assert first.returncode == 0, first.stderr
        page = site / "en.zamanalwsl.net/news/article/34489.html"
        page.write_text(page.read_text().replace('class="like-count">(55)', 'class="like-count">(56)'))
        second = zwcrawl("crawl", "--archive", archive, "--refresh", *site_flags(server))
        assert second.returncode == 0, second.stderr
    finally:
        server.stop()
    return SimpleNamespace(
        tmp=tmp, archive=archive, db=archive / "zwcrawl.db", sites=Sites(server.base_urls),
        bases=dict(server.base_urls),
    )  # fmt: skip


@pytest.fixture(scope="session")
def pywb(tmp_path_factory):
    """One pywb (`wayback` on 127.0.0.1) for the session; tests add collections to it."""
    from pywb_replay import Pywb

    with Pywb(tmp_path_factory.mktemp("pywb")) as server:
        yield server
