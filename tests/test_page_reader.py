"""The extraction worker: pages read there read as in-process; a worker killed or never started loses none."""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zwcrawl.page_reader import PageReader
from zwcrawl.page_reading import read_article, read_listing
from zwcrawl.site import article_url

ZWSITE = Path(__file__).resolve().parent / "fixtures" / "zwsite"
HOSTS = {"en.zamanalwsl.net": "en", "www.zamanalwsl.net": "ar"}


def _asked(page: Path) -> tuple:
    """read_article's arguments for a fixture page, as the spider gives them."""
    host = page.relative_to(ZWSITE).parts[0]
    path = "/" + page.relative_to(ZWSITE / host).with_suffix("").as_posix()
    article_id = int(page.stem) if page.stem.isdigit() else 1  # any other page as if asked for as id 1
    canonical = article_url(HOSTS[host], article_id)
    return canonical, f"https://{host}{path}", HOSTS[host], article_id, "text/html", page.read_bytes(), True


PAGES = [_asked(p) for p in sorted(ZWSITE.glob("*.zamanalwsl.net/**/*.html"))]


def _same(got, want) -> None:
    assert got == want
    assert got.article.not_found == want.article.not_found  # a field equality leaves out


def _in_worker(function, asked: list[tuple]) -> tuple[list, int]:
    """What function gave for each of `asked` in a worker, and how many the worker read."""

    async def read_all():
        reader = PageReader(after=0)
        try:
            return [await reader.read(function, *args) for args in asked], reader.read_there
        finally:
            reader.close()

    return asyncio.run(read_all())


def test_every_fixture_page_reads_the_same_in_the_worker():
    reads, there = _in_worker(read_article, PAGES)
    assert there == len(PAGES) > 20
    assert any(read.article.is_article and read.links for read in reads)
    for asked, read in zip(PAGES, reads, strict=True):
        _same(read, read_article(*asked))


def test_every_listing_page_reads_the_same_in_the_worker():
    asked = [
        (url, content_type, body) for _c, url, _e, _i, content_type, body, _f in PAGES if "/articles/" in url
    ]
    reads, there = _in_worker(read_listing, asked)
    assert there == len(asked)
    assert any(whole and listing["articles"] for whole, listing in reads)
    assert reads == [read_listing(*args) for args in asked]


def test_the_worker_imports_only_what_reading_pages_needs():
    # The worker's memory is mostly its imports: parsel (w3lib, urllib.request), asyncio and ssl, email and
    # Scrapy are the crawl's, never needed to read an article or a listing page.
    article = next(p for p in PAGES if "/articles/" not in p[1])
    listing = next((url, kind, body) for _c, url, _e, _i, kind, body, _f in PAGES if "/articles/" in url)
    code = (
        "import pickle, sys; from zwcrawl.page_reading import read_article, read_listing; "
        "article, listing = pickle.load(sys.stdin.buffer); read_article(*article); read_listing(*listing); "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    asked = pickle.dumps((article, listing))
    run = subprocess.run([sys.executable, "-c", code], input=asked, capture_output=True, check=True)
    loaded = set(run.stdout.decode().split())
    assert "lxml" in loaded and "zwcrawl" in loaded
    assert not loaded & {"parsel", "w3lib", "asyncio", "ssl", "email", "http", "scrapy", "twisted", "sqlite3"}


def test_the_first_pages_are_read_in_process():
    async def read_some():
        reader = PageReader(after=3)
        try:
            for asked in PAGES[:5]:
                await reader.read(read_article, *asked)
            return reader.read_here, reader.read_there
        finally:
            reader.close()

    assert asyncio.run(read_some()) == (3, 2)


def test_a_worker_killed_mid_crawl_leaves_the_pages_to_the_crawl(caplog):
    async def read_with_a_kill():
        reader = PageReader(after=0)
        try:
            first = await reader.read(read_article, *PAGES[0])
            os.kill(reader.worker_pid, signal.SIGKILL)
            rest = await asyncio.gather(*(reader.read(read_article, *asked) for asked in PAGES[1:4]))
            return [first, *rest], reader
        finally:
            reader.close()

    with caplog.at_level(logging.WARNING, logger="zwcrawl.page_reader"):
        reads, reader = asyncio.run(read_with_a_kill())
    for asked, read in zip(PAGES[:4], reads, strict=True):
        _same(read, read_article(*asked))
    assert (reader.read_there, reader.read_here) == (1, 3)
    assert "the extraction worker stopped" in caplog.text
    assert "read in the crawl's own process from now on" in caplog.text


def test_a_worker_that_cannot_start_leaves_the_pages_to_the_crawl(caplog, tmp_path):
    async def read_some():
        reader = PageReader(after=0, python=str(tmp_path / "no-such-python"))
        return [await reader.read(read_article, *asked) for asked in PAGES[:2]], reader

    with caplog.at_level(logging.WARNING, logger="zwcrawl.page_reader"):
        reads, reader = asyncio.run(read_some())
    for asked, read in zip(PAGES[:2], reads, strict=True):
        _same(read, read_article(*asked))
    assert (reader.read_there, reader.read_here, reader.enabled) == (0, 2, False)
    assert caplog.text.count("the extraction worker cannot start") == 1


def test_the_worker_ends_with_a_crawl_killed():
    script = (
        "import asyncio, sys\n"
        "from test_page_reader import PAGES\n"
        "from zwcrawl.page_reader import PageReader\n"
        "from zwcrawl.page_reading import read_article\n"
        "async def main():\n"
        "    reader = PageReader(after=0)\n"
        "    await reader.read(read_article, *PAGES[0])\n"
        "    print(reader.worker_pid, flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    here = Path(__file__).resolve().parent
    crawl = subprocess.Popen([sys.executable, "-c", script], cwd=here, stdout=subprocess.PIPE, text=True)
    try:
        worker = int(crawl.stdout.readline())
        os.kill(worker, 0)  # running
        crawl.kill()
        crawl.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(worker):
            time.sleep(0.05)
        assert not _alive(worker)
    finally:
        crawl.kill()
        crawl.wait()


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie (its parent gone, not yet reaped) has ended


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_worker_leaves_interrupts_to_the_crawl(signum):
    async def read_after_a_signal():
        reader = PageReader(after=0)
        try:
            await reader.read(read_article, *PAGES[0])
            os.killpg(os.getpgid(reader.worker_pid), signum)  # its own session: a Ctrl-C never reaches it
            return await reader.read(read_article, *PAGES[1]), reader.read_there
        finally:
            reader.close()

    read, there = asyncio.run(read_after_a_signal())
    _same(read, read_article(*PAGES[1]))
    assert there == 2
