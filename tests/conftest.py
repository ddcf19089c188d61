"""Shared fixtures: the saved site copies, local mirrors of them, a zwcrawl runner, and the safety check."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
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
