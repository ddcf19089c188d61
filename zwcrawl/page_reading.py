"""What the extraction worker runs: an article or listing page read from its bytes, and the loop serving the
crawl's requests for them. Only what reading a page needs is imported here (no asyncio, Scrapy or parsel)."""

from __future__ import annotations

import pickle
import signal
import socket
import struct
from dataclasses import dataclass

from zwcrawl.article import Article
from zwcrawl.extract import ArticlePage, ListingPage, decode_html, ends_whole
from zwcrawl.health import Reading
from zwcrawl.site import SiteUrl, classify

LENGTH = struct.Struct("!I")  # before each message on the socket, its length: one pickle each way per page


@dataclass(frozen=True)
class ArticleRead:
    """What the spider needs of an article page, read from its bytes."""

    article: Article
    whole: bool  # the page ends with </body> or </html>
    reading: Reading | None  # for extraction health; None for the site's not-found page
    links: list[SiteUrl]  # the site's pages it links to, in page order (an article's only, when asked)


def decoded(content_type: str | None, body: bytes) -> str:
    """A page's text, in the charset its Content-Type names (else what decode_html finds)."""
    charset = None
    lowered = (content_type or "").lower()
    if "charset=" in lowered:
        charset = lowered.split("charset=", 1)[1].split(";")[0].strip(" \"'")
    return decode_html(body, charset)


def read_article(
    canonical: str, real_url: str, edition: str, article_id: int, content_type: str, body: bytes, follow: bool
) -> ArticleRead:
    """Read an article page: the page parsed once, for its fields, its health reading and its links."""
    page = ArticlePage(canonical, decoded(content_type, body))
    article = page.to_item()
    reading = None if article.not_found else Reading.of(page, edition, article_id)
    links = []
    if follow and article.is_article:
        links = [site_url for site_url in map(classify, page.links(real_url)) if site_url is not None]
    return ArticleRead(article, page.whole, reading, links)


def read_listing(real_url: str, content_type: str, body: bytes) -> tuple[bool, dict | None]:
    """Read a section listing page: whether it came whole, and if so its entries (ListingPage's item)."""
    html = decoded(content_type, body)
    if not ends_whole(html):
        return False, None
    return True, ListingPage(real_url, html).to_item()


def serve(fd: int) -> None:
    """The worker: read each page asked for on the socket, answer with what read_article gave (or raised),
    until the crawl closes its end."""
    # Its own session keeps a Ctrl-C at the terminal away; a signal sent to every process (a system
    # stopping) is the crawl's to act on: the worker goes on serving the pages in flight until the end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with socket.socket(fileno=fd) as sock, sock.makefile("rb") as asked, sock.makefile("wb") as answers:
        while True:
            head = asked.read(LENGTH.size)
            if len(head) < LENGTH.size:
                return  # the crawl has ended (or was killed)
            function, args = pickle.loads(asked.read(LENGTH.unpack(head)[0]))
            try:
                answer = pickle.dumps(("read", function(*args)), pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001 - the crawl raises it on the reactor, as in-process
                answer = _error(exc)
            try:
                answers.write(LENGTH.pack(len(answer)) + answer)
                answers.flush()
            except OSError:
                return  # the crawl is gone


def _error(exc: Exception) -> bytes:
    try:
        return pickle.dumps(("error", exc), pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an exception that cannot be pickled goes as its type and message
        return pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")), pickle.HIGHEST_PROTOCOL)
