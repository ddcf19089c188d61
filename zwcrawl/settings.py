"""Scrapy settings for zwcrawl: polite defaults for the live site (override any with `-s NAME=VALUE`)."""

from scrapy.settings.default_settings import EXTENSIONS_BASE as _EXTENSIONS_BASE

BOT_NAME = "zwcrawl"
SPIDER_MODULES = ["zwcrawl.spiders"]
NEWSPIDER_MODULE = "zwcrawl.spiders"

# The live site answers bare clients with 403/406, so look like a browser but say who we are.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 zwcrawl/0.1 (archiving crawler)"
)
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en,ar;q=0.8",
}

# Politeness: robots.txt, one request at a time per host, AutoThrottle on.
ROBOTSTXT_OBEY = True
ROBOTSTXT_USER_AGENT = "zwcrawl"
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# No cookies: a crawl must not build up a session (the site's forms and votes hang off one).
COOKIES_ENABLED = False
# A <meta refresh> is a redirect nobody asked for; the site does not use it, traps do.
METAREFRESH_ENABLED = False
REDIRECT_MAX_TIMES = 5
# No back doors into a running crawl: Scrapy's telnet console and its remote-control HTTP server
# (which runs posted Python code and leaves job files in the user's profile) stay off.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# "Blocked or busy" answers are retried with back-off (zwcrawl.middlewares.BackoffRetryMiddleware).
RETRY_TIMES = 4
RETRY_HTTP_CODES = [403, 406, 408, 429, 500, 502, 503, 504, 520, 521, 522, 524]
ZW_BACKOFF_BASE = 2.0  # seconds before the first retry, doubling each time
ZW_BACKOFF_MAX = 300.0  # the longest wait, Retry-After included

DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024  # a bigger answer is refused and recorded as a failure
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
DOWNLOAD_FAIL_ON_DATALOSS = True  # a truncated body is retried, never archived as complete

DOWNLOADER_MIDDLEWARES = {
    # First in line: nothing outside the editions' crawlable pages is ever requested.
    "zwcrawl.middlewares.ScopeGuardMiddleware": 10,
    # robots.txt as RFC 9309 reads it: one that cannot be had disallows everything.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "zwcrawl.robots.RobotsPolicyMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "zwcrawl.middlewares.BackoffRetryMiddleware": 550,
    # Before RedirectMiddleware (600) on the way back: an article redirecting elsewhere is not followed.
    "zwcrawl.middlewares.ArticleRedirectMiddleware": 650,
    # A refresh sends the validators of the page's last 200, before capture so its request record has them.
    "zwcrawl.conditional.ConditionalRefreshMiddleware": 900,
    # Last before the network, so it sees the bytes as they came off the wire (before decompression).
    "zwcrawl.middlewares.CaptureMiddleware": 950,
    # Scrapy defaults with nothing to do here, each a call per request or response: the scope guard keeps
    # every request on the editions' hosts, nothing sends credentials, and zwcrawl counts its own figures.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
    "scrapy.downloadermiddlewares.stats.DownloaderStats": None,
}
SPIDER_MIDDLEWARES = {
    # Nearest the spider, so an exception in any callback becomes a failure row (a parse error) first.
    "zwcrawl.middlewares.ParseErrorMiddleware": 950,
    # Scrapy defaults that each wrap every request the spider yields, for nothing zwcrawl needs: the spider
    # builds its URLs itself (never over-long), never limits or prioritises by depth, and copies no meta.
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
}
# A page yields one item at most (its article, a section walked, a failure) and requests, which Scrapy
# schedules at once: its default of 100 starts 100 asyncio tasks per response for them, which cost more
# CPU than the page's own requests.
CONCURRENT_ITEMS = 1
ITEM_PIPELINES = {"zwcrawl.pipelines.ArchivePipeline": 300}
# The archive (lock, WARC writer, store, crawl row) opens on spider_opened and closes on spider_closed.
EXTENSIONS = {"zwcrawl.archive.Archive": 100, "zwcrawl.progress.Progress": 500}
# The two back doors above are not even loaded: Scrapy imports every extension it lists (None in EXTENSIONS
# included) before asking whether it is on, and the remote-control server's aiohttp is 9 MB of the crawl's
# memory. So they leave Scrapy's own list.
_BACK_DOORS = {"scrapy.extensions.telnet.TelnetConsole", "scrapy.extensions.remote_control.RemoteControl"}
EXTENSIONS_BASE = {name: order for name, order in _EXTENSIONS_BASE.items() if name not in _BACK_DOORS}
del _BACK_DOORS, _EXTENSIONS_BASE  # upper-case names: Scrapy would take them for settings

# Articles first, so a crawl cut short has archived what it found rather than only listings.
DEPTH_PRIORITY = 0

# zwcrawl's own settings.
ZW_ARCHIVE = "archive"  # the archive directory: zwcrawl.db, warc/, logs/
ZW_SITES: dict[str, str] = {}  # edition -> base URL of a copy standing in for the real origin
ZW_WARC_MAX_SIZE = 1_000_000_000  # roll WARC files over at about this many bytes
ZW_WARC_FSYNC = True  # a record is on disk before its row is written
ZW_MAX_LISTING_PAGES = 5000  # a section deeper than this is cut off (a guard against endless "Next")
ZW_PROGRESS = False  # live progress on stderr (the CLI turns it on for a terminal)
# A refresh asks conditionally (If-None-Match, If-Modified-Since) where the page's last 200 had validators;
# a 304 is archived as a server-not-modified revisit. False: every refresh is a full GET.
ZW_CONDITIONAL = True
# Article and listing pages read (extraction, links) by one worker process beside the crawl, on another
# core: off for the live site, whose pace is its politeness, on for a copy on loopback (zwcrawl/crawl.py),
# where the CPU sets the pace. The first pages are read in-process, so a small crawl never starts a worker.
ZW_EXTRACT_WORKER = False
ZW_EXTRACT_WORKER_AFTER = 20  # pages read in-process before the worker starts

# Extraction health (zwcrawl/health.py): when a crawl's article pages read worse than the archive's
# history, the crawl warns, one line per edition and field, and exits with status 4.
ZW_HEALTH_MIN_PAGES = 20  # a group of fewer pages (refreshed, new, found) never raises the alarm
ZW_HEALTH_MAX_LOST = 0.05  # alarm: a field missing on more than this share of refreshed pages that had it
ZW_HEALTH_MAX_DROP = 0.15  # alarm: a field's share on new pages this far below the archive's share
ZW_HEALTH_MAX_LANDMARK = 0.5  # alarm: a field found by landmarks on more than this share, not so before
ZW_HEALTH_BODY_SHRINK = 0.5  # a refreshed body shorter than this share of the stored one counts as lost
