"""The archive's schema as numbered sqlite-utils migrations; every column carries a one-line comment."""

from __future__ import annotations

import functools
import sqlite3

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("zwcrawl")

# Every time column holds UTC ISO-8601 text with a Z, such as 2018-04-19T17:14:00Z.
_CORE = (
    """
CREATE TABLE crawls (                    -- one row per crawl run
    id INTEGER PRIMARY KEY,              -- crawl id, referenced by every row a crawl wrote
    started_at TEXT NOT NULL,            -- when the crawl started
    ended_at TEXT,                       -- when it ended; for a crawl found dead, its last capture's time
    status TEXT NOT NULL                 -- running | finished | interrupted | failed
        CHECK (status IN ('running', 'finished', 'interrupted', 'failed')),
    options TEXT,                        -- the crawl's options as JSON
    stats TEXT,                          -- closing statistics as JSON; {"found_dead_at": T} for a dead crawl
    pid INTEGER                          -- id of the process that ran it
)""",
    """
CREATE TABLE captures (                  -- one row per WARC record written
    id INTEGER PRIMARY KEY,              -- capture id
    crawl_id INTEGER NOT NULL REFERENCES crawls(id),  -- the crawl that wrote the record
    url TEXT NOT NULL,                   -- the URL as fetched (a mirror's URL when crawling a copy)
    status INTEGER,                      -- HTTP status; NULL for request and metadata records
    fetched_at TEXT NOT NULL,            -- the record's WARC-Date
    record_type TEXT NOT NULL            -- response | revisit | request | metadata
        CHECK (record_type IN ('response', 'revisit', 'request', 'metadata')),
    warc_file TEXT NOT NULL,             -- WARC file relative to the archive dir: warc/zwcrawl-....warc.gz
    warc_offset INTEGER NOT NULL,        -- byte offset of the record's gzip member in that file
    warc_length INTEGER NOT NULL,        -- byte length of that gzip member
    warc_record_id TEXT NOT NULL,        -- WARC-Record-ID, <urn:uuid:...>
    payload_digest TEXT,                 -- WARC-Payload-Digest: the body's digest as it came off the wire
    content_type TEXT,                   -- the response's Content-Type (of the record for metadata)
    refers_to_record_id TEXT,            -- revisits: WARC-Refers-To, the original response's record id
    refers_to_url TEXT,                  -- revisits: WARC-Refers-To-Target-URI
    refers_to_date TEXT,                 -- revisits: WARC-Refers-To-Date
    concurrent_to TEXT                   -- WARC-Concurrent-To: the record this one belongs with
)""",
    "CREATE INDEX captures_url ON captures (url, fetched_at)",
    "CREATE UNIQUE INDEX captures_warc_record_id ON captures (warc_record_id)",
    """
CREATE TABLE articles (                  -- one row per article, kept current by later captures
    edition TEXT NOT NULL,               -- en | ar
    article_id INTEGER NOT NULL,         -- the site's article id (the N of /news/article/N)
    url TEXT NOT NULL,                   -- canonical URL on the real origin
    headline TEXT,                       -- the headline as printed
    kind TEXT,                           -- opinion | perspective | NULL for news
    section_id INTEGER,                  -- id of the section the page links to
    section TEXT,                        -- name of that section
    published TEXT,                      -- the page's date line converted from Damascus time to UTC
    body TEXT,                           -- the article text, paragraphs joined by a blank line
    source TEXT,                         -- outlet named in the lead attribution, else the byline
    byline TEXT,                         -- source line printed under the body
    dateline TEXT,                       -- place before a wire lead (BEIRUT), else NULL
    with_agencies INTEGER,               -- 1 when the text closes with (With Agencies) / (وكالات), else 0
    likes INTEGER,                       -- vote counter at last_seen; NULL when the page has no vote widget
    dislikes INTEGER,                    -- vote counter at last_seen; NULL when the page has no vote widget
    comments_count INTEGER,              -- the N of "Total Comments (N)" at last_seen
    image_url TEXT,                      -- URL of the article's first image, NULL when it has none
    first_seen TEXT NOT NULL,            -- first time the archive fetched it
    last_seen TEXT NOT NULL,             -- latest time the archive fetched it
    last_changed TEXT NOT NULL,          -- latest fetch that changed anything but counters and comments
    capture_id INTEGER REFERENCES captures(id),  -- the capture the current fields come from
    crawl_id INTEGER REFERENCES crawls(id),      -- the crawl that last fetched it
    PRIMARY KEY (edition, article_id)
)""",
    "CREATE INDEX articles_published ON articles (published)",
    """
CREATE TABLE people (                    -- every author or translator name seen, once
    id INTEGER PRIMARY KEY,              -- person id
    name TEXT NOT NULL UNIQUE            -- the name as printed in attribution lines
)""",
    """
CREATE TABLE article_people (            -- who wrote and translated each article, as last seen
    edition TEXT NOT NULL,               -- the article's edition
    article_id INTEGER NOT NULL,         -- the article's id
    role TEXT NOT NULL                   -- author | translator
        CHECK (role IN ('author', 'translator')),
    position INTEGER NOT NULL,           -- order within the role, from 1
    person_id INTEGER NOT NULL REFERENCES people(id),  -- the person
    PRIMARY KEY (edition, article_id, role, position),
    FOREIGN KEY (edition, article_id) REFERENCES articles(edition, article_id)
)""",
    "CREATE INDEX article_people_person ON article_people (person_id)",
    """
CREATE TABLE images (                    -- the article's own images, as last seen
    edition TEXT NOT NULL,               -- the article's edition
    article_id INTEGER NOT NULL,         -- the article's id
    position INTEGER NOT NULL,           -- order on the page, from 1
    url TEXT NOT NULL,                   -- absolute image URL on the real origin
    caption TEXT,                        -- caption, NULL when none
    PRIMARY KEY (edition, article_id, position),
    FOREIGN KEY (edition, article_id) REFERENCES articles(edition, article_id)
)""",
    """
CREATE TABLE comments (                  -- every reader comment ever seen; vanished ones stay
    id INTEGER PRIMARY KEY,              -- comment id
    edition TEXT NOT NULL,               -- the article's edition
    article_id INTEGER NOT NULL,         -- the article's id
    position INTEGER NOT NULL,           -- order on the page when last seen, from 1
    author TEXT,                         -- name the commenter gave
    posted TEXT,                         -- when it was posted, UTC
    text TEXT,                           -- the comment text
    first_seen TEXT NOT NULL,            -- first fetch that showed it
    last_seen TEXT NOT NULL,             -- latest fetch that showed it (before articles.last_seen: removed)
    FOREIGN KEY (edition, article_id) REFERENCES articles(edition, article_id)
)""",
    "CREATE INDEX comments_article ON comments (edition, article_id, position)",
    """
CREATE TABLE observations (              -- one row per fetch of an article: counters as a time series
    id INTEGER PRIMARY KEY,              -- observation id
    edition TEXT NOT NULL,               -- the article's edition
    article_id INTEGER NOT NULL,         -- the article's id
    observed_at TEXT NOT NULL,           -- when the page was fetched
    likes INTEGER,                       -- vote counter then
    dislikes INTEGER,                    -- vote counter then
    comments_count INTEGER,              -- "Total Comments (N)" then
    crawl_id INTEGER REFERENCES crawls(id),      -- the crawl that fetched it
    capture_id INTEGER REFERENCES captures(id),  -- the capture of that fetch
    FOREIGN KEY (edition, article_id) REFERENCES articles(edition, article_id)
)""",
    "CREATE INDEX observations_article ON observations (edition, article_id, observed_at)",
    """
CREATE TABLE article_versions (          -- the first headline and body of an article, and each change
    edition TEXT NOT NULL,               -- the article's edition
    article_id INTEGER NOT NULL,         -- the article's id
    version INTEGER NOT NULL,            -- 1 for the first text seen, then 2, 3, ...
    observed_at TEXT NOT NULL,           -- fetch that first showed this text
    headline TEXT,                       -- headline of this version
    body TEXT,                           -- body of this version
    capture_id INTEGER REFERENCES captures(id),  -- capture of that fetch
    PRIMARY KEY (edition, article_id, version),
    FOREIGN KEY (edition, article_id) REFERENCES articles(edition, article_id)
)""",
    """
CREATE TABLE failures (                  -- each crawl's failure report: URLs that stayed failed
    id INTEGER PRIMARY KEY,              -- failure id
    crawl_id INTEGER NOT NULL REFERENCES crawls(id),  -- the crawl that gave up
    url TEXT NOT NULL,                   -- the URL as fetched
    reason TEXT NOT NULL,                -- why, in words (http 503, timeout, too large, ...)
    attempts INTEGER NOT NULL,           -- how often it was tried
    last_status INTEGER,                 -- HTTP status of the last attempt, NULL when none came back
    failed_at TEXT NOT NULL              -- when the crawl gave up on it
)""",
    "CREATE INDEX failures_crawl ON failures (crawl_id)",
    """
CREATE TABLE missing (                   -- article ids the site answered as absent (404, soft 404)
    edition TEXT NOT NULL,               -- the edition asked
    article_id INTEGER NOT NULL,         -- the id asked for
    url TEXT NOT NULL,                   -- the URL as fetched
    status INTEGER,                      -- HTTP status of the answer
    reason TEXT NOT NULL,                -- 404, soft 404, ...
    crawl_id INTEGER REFERENCES crawls(id),  -- the crawl that last checked
    checked_at TEXT NOT NULL,            -- when it was last checked; the row goes once the article appears
    PRIMARY KEY (edition, article_id)
)""",
    """
CREATE TABLE sections (                  -- how far crawls have walked each section's listing
    edition TEXT NOT NULL,               -- en | ar
    section_id INTEGER NOT NULL,         -- the N of /news/articles/N
    name TEXT,                           -- the section's name, when known
    walked_to_end_at TEXT,               -- when a crawl first walked its listing to the end; NULL if never
    last_walked_at TEXT,                 -- when a crawl last walked its listing
    PRIMARY KEY (edition, section_id)
)""",
)


@MIGRATIONS(name="0001_core")
def _core(db: Database) -> None:
    """Create the crawl, capture, article and bookkeeping tables."""
    for statement in _CORE:
        db.execute(statement)


# Arabic search folding, Lucene's ArabicNormalizer plus two alef forms: harakat, tatweel and hamza-on-alef
# spellings vary between writers (and FTS5's remove_diacritics only folds Latin), so both the index and the
# query drop or unify them. No rule changes the number of words, so snippets line up with the original text.
# Kept short on purpose: the triggers nest one replace() per rule and SQLite 3.40's parser stops near 28.
_ARABIC_FOLDS = (
    *((chr(code), "") for code in range(0x064B, 0x0653)),  # fathatan .. sukun: the harakat
    ("\u0670", ""),  # superscript alef
    ("\u0640", ""),  # tatweel
    ("\u0622", "\u0627"),  # alef madda -> alef
    ("\u0623", "\u0627"),  # alef hamza above -> alef
    ("\u0625", "\u0627"),  # alef hamza below -> alef
    ("\u0671", "\u0627"),  # alef wasla -> alef
    ("\u0649", "\u064a"),  # alef maqsura -> yeh
    ("\u0629", "\u0647"),  # teh marbuta -> heh
)
# Arabic-Indic (٠..٩) and Persian (۰..۹) digits are Western digits to the index, so ٢٠١١ finds 2011 and back.
# A second set of 20 replace() calls: the triggers fold in two layers (a subquery each) to stay under 28.
_DIGIT_FOLDS = tuple((chr(zero + digit), str(digit)) for zero in (0x0660, 0x06F0) for digit in range(10))

# Combining marks (Mn) must count as letters: unicode61 otherwise splits تصعّد at the shadda into two tokens.
# Porter stems English words (attacks, attacked -> attack); it leaves words in other scripts as they are.
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2 categories 'L* N* Co Mn'"
_FTS_TOKENIZE_0002 = "unicode61 remove_diacritics 2 categories 'L* N* Co Mn'"  # the index before 0025


def fold_search_text(text: str) -> str:
    """Fold Arabic spelling variants and Eastern digits the way the search index does, for a query."""
    for old, new in (*_DIGIT_FOLDS, *_ARABIC_FOLDS):
        text = text.replace(old, new)
    return text.replace(FACET_MARK, "")  # no query a user types can match a facet token


# Facet tokens (0050): each begins with this private-use character, which the tokenizer keeps (category Co)
# and fold_search_text drops from queries, so only search_facets' own terms ever match them.
FACET_MARK = "\ue000"
_MARK_SQL = f"char({ord(FACET_MARK)})"


def source_facet_sql(source: str) -> str:
    """SQL of the facet token of the source named by SQL expression `source` (NULL: as the empty name)."""
    # One token whatever the name's words or characters: its bytes in hex. lower() folds ASCII only, exactly
    # the case COLLATE NOCASE ignores, so `source = ? COLLATE NOCASE` implies equal tokens. 16 bytes at most:
    # longer names sharing them share a token, which only widens the superset the exact filter then trims.
    return f"{_MARK_SQL} || 's' || substr(hex(lower(coalesce({source}, ''))), 1, 32)"


def _facets_sql(source: str, published: str) -> str:
    """SQL of an article's three facet tokens: its source, its year and its month of publication."""
    # Dates only as strftime writes them: those compare as moments do, so a range's years bound theirs. Any
    # other text (NULL aside) gets the tokens yx and mx, which every date range's terms include.
    canonical = f"strftime('%Y-%m-%dT%H:%M:%SZ', {published}) IS {published}"
    year = f"substr({published}, 1, 4)"
    dates = (
        f"CASE WHEN {published} IS NULL THEN 'y0 ' || {_MARK_SQL} || 'm0'"
        f" WHEN {canonical} THEN 'y' || {year} || ' ' || {_MARK_SQL} || 'm' || {year}"
        f" || substr({published}, 6, 2)"
        f" ELSE 'yx ' || {_MARK_SQL} || 'mx' END"
    )
    return f"{source_facet_sql(source)} || ' ' || {_MARK_SQL} || {dates}"


def _replace_sql(expression: str, folds: tuple[tuple[str, str], ...]) -> str:
    """`expression` wrapped in one replace() per fold."""
    # char(N) rather than the characters themselves: a lone shadda between quotes is unreadable in .schema.
    for old, new in folds:
        replacement = f"char({ord(new)})" if new else "''"
        expression = f"replace({expression}, char({ord(old)}), {replacement})"
    return expression


def _folded_rows_sql(
    rowid: str, headline: str, body: str, *, prefix: str = "", facets: str | None = None
) -> str:
    """SELECT of (prefix..., rowid, headline, body[, facets]) folded like fold_search_text, in plain SQL."""
    # Plain SQL (no Python function) so any writer, sqlite-utils or Datasette included, keeps the index right;
    # digits fold in a subquery, Arabic spellings around it, each layer under the parser's nesting limit.
    outer, inner = (", f", f", {facets} AS f") if facets else ("", "")
    return (
        f"SELECT {prefix}rowid, {_replace_sql('h', _ARABIC_FOLDS)}, {_replace_sql('b', _ARABIC_FOLDS)}{outer}"
        f" FROM (SELECT {rowid} AS rowid, {_replace_sql(headline, _DIGIT_FOLDS)} AS h,"
        f" {_replace_sql(body, _DIGIT_FOLDS)} AS b{inner}"
    )


def search_index_rows_sql(facets: bool = True) -> str:
    """SELECT of (rowid, headline, body, facets) from articles, folded, to fill articles_fts; without
    `facets`, as the index was before 0050: (rowid, headline, body)."""
    return (
        _folded_rows_sql("rowid", "headline", "body", facets="facets" if facets else None) + " FROM articles)"
    )


def _create_search_index(db: Database, tokenize: str, folded: bool, facets: bool = False) -> None:
    """articles_fts over headline and body (and from 0050 the facets), kept in sync by triggers that fold
    the text it indexes."""
    # An external-content table laid out as sqlite-utils' enable_fts() makes it (so detect_fts() and
    # `sqlite-utils search` find it), but fed folded text by these triggers; enable_fts()'s do not fold.
    tokenize = tokenize.replace("'", "''")
    columns = '"headline", "body", "facets"' if facets else '"headline", "body"'
    db.execute(
        'CREATE VIRTUAL TABLE "articles_fts" USING FTS5 (\n'
        f"    {columns},\n    tokenize='{tokenize}',\n    content=\"articles\"\n)"
    )
    names = "rowid, headline, body, facets" if facets else "rowid, headline, body"
    changed = "old.headline IS NOT new.headline OR old.body IS NOT new.body OR old.rowid IS NOT new.rowid"
    if facets:
        old = dict(prefix="'delete', ", facets="old.facets")
        old_rows = _folded_rows_sql("old.rowid", "old.headline", "old.body", **old) + ")"
        new_rows = _folded_rows_sql("new.rowid", "new.headline", "new.body", facets="new.facets") + ")"
        rows_sql = search_index_rows_sql()
        changed += " OR old.facets IS NOT new.facets"  # a source or date changed: the article's facets too
    elif folded:
        old_rows = _folded_rows_sql("old.rowid", "old.headline", "old.body", prefix="'delete', ") + ")"
        new_rows = _folded_rows_sql("new.rowid", "new.headline", "new.body") + ")"
        rows_sql = search_index_rows_sql(facets=False)
    else:  # 0002 as it shipped: Arabic folds only, one layer

        def fold(table: str) -> str:
            columns = (_replace_sql(table + column, _ARABIC_FOLDS) for column in ("headline", "body"))
            return ", ".join(columns)

        old_rows = f"SELECT 'delete', old.rowid, {fold('old.')}"
        new_rows = f"SELECT new.rowid, {fold('new.')}"
        rows_sql = f"SELECT rowid, {fold('')} FROM articles"
    delete_old = f"INSERT INTO articles_fts (articles_fts, {names}) {old_rows};"
    insert_new = f"INSERT INTO articles_fts ({names}) {new_rows};"
    db.execute(f"CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN {insert_new} END")
    db.execute(f"CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN {delete_old} END")
    # Only a changed headline or body (or, from 0050, source or date) touches the index: refreshing counters
    # must not re-index every body.
    update = f"AFTER UPDATE ON articles WHEN {changed} BEGIN {delete_old} {insert_new} END"
    db.execute(f"CREATE TRIGGER articles_au {update}")
    db.execute(f"INSERT INTO articles_fts ({names}) {rows_sql}")


@MIGRATIONS(name="0002_search")
def _search(db: Database) -> None:
    """Full-text search over headline and body, folded for Arabic, kept in sync by triggers."""
    _create_search_index(db, _FTS_TOKENIZE_0002, folded=False)


@MIGRATIONS(name="0003_people_views")
def _people_views(db: Database) -> None:
    """Views naming each article's authors and translators in order."""
    for role, view in (("author", "article_authors"), ("translator", "article_translators")):
        db.execute(
            f"CREATE VIEW {view} AS  -- each article's {role}s by name, in printed order\n"
            "SELECT ap.edition, ap.article_id, ap.position, ap.person_id, p.name\n"
            "FROM article_people ap JOIN people p ON p.id = ap.person_id\n"
            f"WHERE ap.role = '{role}'"
        )


@MIGRATIONS(name="0004_failure_captures")
def _failure_captures(db: Database) -> None:
    """A page zwcrawl could not read names its capture, so `rebuild` can read it again once fixed."""
    _add_column(
        db, "failures", "capture_id INTEGER", "REFERENCES captures(id)",
        "parse errors: the response zwcrawl could not read, for rebuild; else NULL",
    )  # fmt: skip


def _add_column(db: Database, table: str, column: str, last_token: str, comment: str) -> None:
    """ALTER TABLE ADD COLUMN with its one-line comment, as .schema and the Datasette metadata show it."""
    # SQLite appends an added column after the table's last line as ", name ...": the comment must end
    # before the column's last token, or it would swallow the closing parenthesis.
    db.execute(f"ALTER TABLE {table} ADD COLUMN {column}  -- {comment}\n    {last_token}")


@MIGRATIONS(name="0025_search_stems_and_digits")
def _search_stems_and_digits(db: Database) -> None:
    """Rebuild the search index with Porter stemming for English and Eastern digits read as Western ones."""
    for trigger in ("articles_ai", "articles_ad", "articles_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP TABLE IF EXISTS articles_fts")
    _create_search_index(db, FTS_TOKENIZE, folded=True)


_SCHEDULES = (
    """
CREATE TABLE schedules (                 -- crawls to start on a plan, by `zwcrawl schedule run`
    name TEXT PRIMARY KEY,               -- the schedule's name, as given to `schedule add`
    every_seconds INTEGER,               -- the plan as an interval in seconds; NULL for a cron plan
    cron TEXT,                           -- the plan as a cron expression; NULL for an interval plan
    timezone TEXT NOT NULL,              -- the time zone the cron expression is read in (UTC unless --tz)
    crawl_args TEXT NOT NULL,            -- the `zwcrawl crawl` options of each run, as a JSON list
    created_at TEXT NOT NULL,            -- when it was added
    next_due TEXT NOT NULL,              -- when it is next due; a new schedule is due at once
    CHECK ((every_seconds IS NULL) != (cron IS NULL))
)""",
    """
CREATE TABLE schedule_runs (             -- each time a schedule came due: started, skipped or failed to start
    id INTEGER PRIMARY KEY,              -- run id
    schedule TEXT NOT NULL,              -- the schedule's name
    due_at TEXT NOT NULL,                -- the due time this run answers (missed ones collapse into one)
    claimed_at TEXT NOT NULL,            -- when a runner claimed it, moving next_due on in one transaction
    runner_pid INTEGER NOT NULL,         -- id of the `schedule run` process that claimed it
    outcome TEXT NOT NULL                -- running | finished | interrupted | failed | skipped
        CHECK (outcome IN ('running', 'finished', 'interrupted', 'failed', 'skipped')),
    crawl_id INTEGER REFERENCES crawls(id),  -- the crawl it started; NULL when skipped or it never started
    exit_code INTEGER,                   -- the crawl process's exit status
    ended_at TEXT,                       -- when the crawl process ended
    detail TEXT,                         -- why it was skipped or failed, in words
    UNIQUE (schedule, due_at)
)""",
    "CREATE INDEX schedule_runs_schedule ON schedule_runs (schedule, id)",
)


@MIGRATIONS(name="0026_schedules")
def _schedules(db: Database) -> None:
    """Schedules of crawls, each time one came due, and the schedule that started a crawl."""
    for statement in _SCHEDULES:
        db.execute(statement)
    _add_column(
        db, "crawls", "schedule TEXT", "CHECK (schedule <> '')",
        "the schedule that started it (zwcrawl schedule run); NULL for a crawl by hand",
    )  # fmt: skip


@MIGRATIONS(name="0030_imported_records")
def _imported_records(db: Database) -> None:
    """Where each record `zwcrawl import` brought in came from: a second import of a file adds nothing."""
    db.execute(
        """
CREATE TABLE imported_records (          -- every WARC record `zwcrawl import` copied into the archive
    warc_record_id TEXT PRIMARY KEY,     -- its WARC-Record-ID, kept from the source file
    record_type TEXT NOT NULL,           -- its WARC-Type: response, revisit, request, metadata, resource, ...
    url TEXT,                            -- its WARC-Target-URI
    source_file TEXT NOT NULL,           -- the file as named to import; FILE.wacz!archive/X for a WACZ member
    source_offset INTEGER NOT NULL,      -- its offset in that file (of its gzip member when compressed)
    warc_file TEXT NOT NULL,             -- where the copy is, relative to the archive dir
    warc_offset INTEGER NOT NULL,        -- byte offset of the copy's gzip member
    warc_length INTEGER NOT NULL,        -- byte length of that gzip member
    crawl_id INTEGER NOT NULL REFERENCES crawls(id)  -- the import run (a crawls row) that copied it
)"""
    )


@MIGRATIONS(name="0035_redirects")
def _redirects(db: Database) -> None:
    """Article ids the site answers with a redirect to another page, kept apart from missing ids."""
    db.execute(
        """
CREATE TABLE redirects (                 -- article ids the site answered with a redirect to another page
    edition TEXT NOT NULL,               -- the edition asked
    article_id INTEGER NOT NULL,         -- the id asked for
    url TEXT NOT NULL,                   -- the URL as fetched
    status INTEGER NOT NULL,             -- the redirect's HTTP status (301, 302, ...)
    target_url TEXT NOT NULL,            -- where it pointed (on the real origin when it is the site's)
    target_edition TEXT,                 -- the target's edition when it is an article, else NULL
    target_article_id INTEGER,           -- the target's id when it is an article (archived under that id)
    crawl_id INTEGER REFERENCES crawls(id),  -- the crawl that last saw it
    checked_at TEXT NOT NULL,            -- when it was last seen; the row goes once the id answers a page
    PRIMARY KEY (edition, article_id)
)"""
    )


@MIGRATIONS(name="0036_removals")
def _removals(db: Database) -> None:
    """Archived articles the site has since removed, kept apart from ids it never had (`missing`)."""
    db.execute(
        """
CREATE TABLE removals (                  -- archived articles the site answers as removed; gone once back
    edition TEXT NOT NULL,               -- the article's edition
    article_id INTEGER NOT NULL,         -- the article's id
    removed_at TEXT NOT NULL,            -- when a crawl first found it removed
    how TEXT NOT NULL,                   -- how the site said so: HTTP 404 | HTTP 410 | not-found page
    crawl_id INTEGER REFERENCES crawls(id),  -- the crawl that last found it removed
    checked_at TEXT NOT NULL,            -- when it was last found removed
    PRIMARY KEY (edition, article_id),
    FOREIGN KEY (edition, article_id) REFERENCES articles(edition, article_id)
)"""
    )


@MIGRATIONS(name="0040_capture_validators")
def _capture_validators(db: Database) -> None:
    """The validators a response carried, which a refresh sends back to ask whether the page changed."""
    # Block comments: after a column ALTER TABLE added, the next one lands on the same line as its last token,
    # where a `--` comment would run on into it (schema_notes reads both kinds).
    for column, header, sent_as in (
        ("etag", "ETag", "If-None-Match"),
        ("last_modified", "Last-Modified", "If-Modified-Since"),
    ):
        db.execute(
            f"ALTER TABLE captures ADD COLUMN {column} TEXT /* the response's {header} header, sent back as"
            f" {sent_as} by a refresh; NULL when none */"
        )


@MIGRATIONS(name="0045_search_indexes")
def _search_indexes(db: Database) -> None:
    """Indexes that let a search walk articles newest first, and pick a source's articles by date."""
    # `zwcrawl search --order newest` walks this one and stops at its limit instead of sorting every match;
    # edition and id after the date make the order total, as the search's ORDER BY spells it.
    db.execute("CREATE INDEX articles_newest ON articles (published DESC, edition, article_id)")
    # --source compares without case (COLLATE NOCASE), so only an index in that collation serves it.
    db.execute("CREATE INDEX articles_source ON articles (source COLLATE NOCASE, published)")


@MIGRATIONS(name="0050_search_facets")
def _search_facets(db: Database) -> None:
    """Index each article's source, year and month beside its text, so a filtered search is one FTS5 query."""
    # A VIRTUAL column costs no space; FTS5 reads its content table's columns by name (snippet, highlight).
    # A search with --source, --since or --until ANDs these tokens (search_facets) to its words, and FTS5 then
    # skips through a common word's long list of articles instead of SQLite testing each against the filter.
    # A block comment before the expression: ALTER TABLE puts the column on crawl_id's line (see 0040).
    tokens = _facets_sql("source", "published")
    db.execute(
        "ALTER TABLE articles ADD COLUMN facets TEXT /* search tokens of the source and of the publication"
        f" year and month, for filtered searches */ GENERATED ALWAYS AS ({tokens}) VIRTUAL"
    )
    for trigger in ("articles_ai", "articles_ad", "articles_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP TABLE IF EXISTS articles_fts")
    _create_search_index(db, FTS_TOKENIZE, folded=True, facets=True)
    # As `zwcrawl rebuild` leaves it: one segment, the fastest to read.
    db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('optimize')")


# -- a database someone else prepared ---------------------------------------------------------------


@functools.cache
def _made_by_migrations() -> frozenset[tuple[str, str, str]]:
    """Every trigger and view some migration makes (as it stands after each step): all zwcrawl trusts."""
    db = Database(memory=True, execute_plugins=False)  # as the archive's own: no plugins
    names = [migration.name for migration in MIGRATIONS._migrations]
    made = set()
    for next_name in [*names[1:], None]:
        MIGRATIONS.apply(db, stop_before=next_name) if next_name else MIGRATIONS.apply(db)
        made |= set(db.execute(_TRIGGERS_AND_VIEWS.format(schema="main")).fetchall())
    db.close()
    return frozenset(made)


_TRIGGERS_AND_VIEWS = "SELECT type, name, sql FROM {schema}.sqlite_master WHERE type IN ('trigger', 'view')"


def foreign_objects(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    """Triggers and views that zwcrawl's migrations did not make, as 'trigger NAME'; read before any write.

    A trigger runs on every write it watches, a view on every read of it: one planted in an archive someone
    else prepared would run with the user's rights, so such a database is refused, not opened."""
    rows = conn.execute(_TRIGGERS_AND_VIEWS.format(schema=schema)).fetchall()
    known = _made_by_migrations()
    return [f"{kind} {name}" for kind, name, sql in rows if (kind, name, sql) not in known]
