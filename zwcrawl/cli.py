"""The `zwcrawl` command line: one click group, each command a short call into the layers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from zwcrawl.diskfull import describe, is_disk_full
from zwcrawl.interrupts import defer_interrupts
from zwcrawl.site import EDITIONS
from zwcrawl.stdio import ensure_standard_streams

ARCHIVE_OPTION = click.option(
    "--archive",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("archive"),
    show_default=True,
    help="The archive directory (zwcrawl.db, warc/, logs/).",
)


class IdRange(click.ParamType):
    """`--ids FROM-TO`, read once into a range of article ids."""

    name = "FROM-TO"

    def convert(self, value, param, ctx) -> range:
        if isinstance(value, range):
            return value
        from zwcrawl.spiders.zaman import parse_ids

        try:
            return parse_ids(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class _Group(click.Group):
    """A click group that turns an unexpected error into one line and exit 1, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Abort from None  # one line from main(), not click's blank one first
        except BrokenPipeError:
            # The reader went away (`zwcrawl search ... | head`): stop quietly, as a tool killed by SIGPIPE
            # would; stdout goes to /dev/null so the flush at exit cannot fail a second time.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(141) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence: one clear line
            if is_disk_full(exc):
                raise click.ClickException(describe(exc)) from None
            raise click.ClickException(str(exc) or type(exc).__name__) from None


@click.group(cls=_Group)
@click.version_option(package_name="zwcrawl")
def cli() -> None:
    """Archive the Zaman al-Wasl news site into WARC files and a SQLite archive."""


def main(argv: list[str] | None = None) -> None:
    """The console entry point: every error is one line on stderr and a non-zero exit."""
    ensure_standard_streams()
    try:
        code = cli.main(args=argv, prog_name="zwcrawl", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("zwcrawl: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        message = " ".join(exc.format_message().split())
        click.echo(f"zwcrawl: {message}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


@cli.command()
@click.argument("page", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", required=True, help="The article's URL (any spelling of it).")
@click.option(
    "--explain", is_flag=True, help="Print, per field, which strategy found it and what the others read."
)
def extract(page: Path, url: str, explain: bool) -> None:
    """Extract one saved article page and print its fields as JSON."""
    from zwcrawl.extract import ArticlePage, extract_article
    from zwcrawl.extract.explain import explain_text
    from zwcrawl.site import canonical_article_url

    if canonical_article_url(url) is None:
        raise click.UsageError(f"not a Zaman al-Wasl article URL: {url}")
    try:
        html = page.read_bytes()
    except OSError as exc:
        raise click.UsageError(f"cannot read {page}: {exc.strerror or exc}") from None
    if explain:
        click.echo(explain_text(ArticlePage(url, html)))
        return
    click.echo(json.dumps(extract_article(html, url), ensure_ascii=False, indent=2))


@cli.command()
@ARCHIVE_OPTION
@click.option(
    "--edition",
    "editions",
    multiple=True,
    type=click.Choice(EDITIONS),
    help="Crawl only this edition (repeatable; default: both).",
)
@click.option(
    "--site",
    "site_specs",
    multiple=True,
    metavar="EDITION=BASE_URL",
    help="Fetch an edition from a copy of the site, e.g. en=http://127.0.0.1:8001.",
)
@click.option("--ids", type=IdRange(), help="Backfill one edition by article ids, e.g. 34400-34520.")
@click.option("--refresh", is_flag=True, help="Also re-fetch every archived article of the editions.")
@click.option(
    "--refresh-due",
    is_flag=True,
    help="Also re-fetch the archived articles whose next observation is due (ZW_REFRESH_* settings).",
)
@click.option("--full", is_flag=True, help="Walk every section listing to its end.")
@click.option("-s", "overrides", multiple=True, metavar="NAME=VALUE", help="A Scrapy setting.")
@click.option("--schedule", hidden=True, help="The schedule that started this crawl (set by schedule run).")
def crawl(
    archive: Path,
    editions: tuple[str, ...],
    site_specs: tuple[str, ...],
    ids: range | None,
    refresh: bool,
    refresh_due: bool,
    full: bool,
    overrides: tuple[str, ...],
    schedule: str | None,
) -> None:
    """Crawl Zaman al-Wasl into the archive: WARC captures plus the SQLite archive."""
    defer_interrupts()  # before the slow imports: a Ctrl-C now is one line and exit 130
    from zwcrawl.crawl import run_crawl

    editions, sites = _checked_crawl_options(editions, site_specs, ids, overrides)
    result = run_crawl(
        archive,
        editions=editions,
        sites=sites,
        ids=ids,
        refresh=refresh,
        refresh_due=refresh_due,
        full=full,
        overrides=list(overrides),
        progress=sys.stderr.isatty(),
        schedule=schedule,
    )
    _summary(archive, result)
    if result.reached_nothing:
        click.echo("zwcrawl: the site answered nothing: every fetch failed (listed above)", err=True)
    sys.exit(result.exit_code)


def _checked_crawl_options(
    editions: tuple[str, ...], site_specs: tuple[str, ...], ids: range | None, overrides: tuple[str, ...]
):
    """The editions and sites a crawl's options name; a usage error when they do not fit together."""
    from zwcrawl.crawl import parse_overrides
    from zwcrawl.health import check_settings
    from zwcrawl.setting_values import check_setting_values
    from zwcrawl.site import Sites

    editions = tuple(dict.fromkeys(editions)) or EDITIONS
    try:
        sites = Sites.parse(list(site_specs))
        values = parse_overrides(list(overrides))
        check_settings(values)  # the ZW_HEALTH_* ranges, in their own words
        check_setting_values(values)
        if ids is not None and len(editions) != 1:
            raise ValueError("--ids enumerates one edition's ids: give exactly one --edition")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    return editions, sites


@cli.command()
@ARCHIVE_OPTION
def demo(archive: Path) -> None:
    """Serve the copy of the site shipped with zwcrawl on 127.0.0.1 and crawl both editions from it."""
    defer_interrupts()
    from zwcrawl.crawl import run_crawl
    from zwcrawl.demo import demo_report, serve_demo_site
    from zwcrawl.site import Sites

    with serve_demo_site() as mirror:
        for edition, base in mirror.base_urls.items():
            click.echo(f"serving the demo copy of the {edition} edition at {base}")
        result = run_crawl(
            archive, editions=EDITIONS, sites=Sites(mirror.base_urls), progress=sys.stderr.isatty()
        )
    _summary(archive, result)
    if not result.ctrl_c:  # stopped by the user: the summary says what was archived, the tour can wait
        click.echo(demo_report(archive))
    sys.exit(result.exit_code)


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--port-en", type=click.IntRange(0, 65535), default=8001, show_default=True)
@click.option("--port-ar", type=click.IntRange(0, 65535), default=8002, show_default=True)
@click.option(
    "--validators", is_flag=True, help="Send ETag and Last-Modified, and answer conditional GETs with 304."
)
def mirror(path: Path, port_en: int, port_ar: int, validators: bool) -> None:
    """Serve a saved copy of the site (one directory per host) on 127.0.0.1, one port per edition."""
    from zwcrawl.mirror import serve_forever

    serve_forever(path, {"en": port_en, "ar": port_ar}, validators=validators)


@cli.command()
@ARCHIVE_OPTION
def verify(archive: Path) -> None:
    """Check every WARC record and every row that points into the WARC files; exit 0 only if all hold."""
    from zwcrawl.verify import verify_archive

    if not (archive / "zwcrawl.db").is_file():
        raise click.UsageError(f"no archive at {archive} (no zwcrawl.db there)")
    report = verify_archive(archive)
    if line := report.snapshot_line():
        click.echo(line)
    for problem in report.problems:
        click.echo(f"BAD {problem}")
    click.echo(report.summary())
    sys.exit(0 if report.ok else 1)


def _article_filters(command):
    """The options that choose articles, shared by search and the exports."""
    options = [
        click.option("--edition", type=click.Choice(EDITIONS), help="Only this edition."),
        click.option("--since", metavar="DATE", help="Published on or after DATE (YYYY-MM-DD, UTC)."),
        click.option("--until", metavar="DATE", help="Published on or before DATE (YYYY-MM-DD, UTC)."),
        click.option("--section", metavar="NAME", help="Only this section (its name or number)."),
        click.option("--source", metavar="NAME", help="Only articles from this source (outlet or byline)."),
        click.option("--author", metavar="NAME", help="Only articles by this author."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _filter(**options):
    """The article filter the options name; a bad date is a usage error."""
    from zwcrawl.store import ArticleFilter

    try:
        return ArticleFilter.parse(**options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _need_archive(archive: Path) -> None:
    if not (archive / "zwcrawl.db").is_file():
        raise click.UsageError(f"no archive at {archive} (no zwcrawl.db there)")


@cli.command()
@ARCHIVE_OPTION
@click.argument("query")
@_article_filters
@click.option(
    "--order", type=click.Choice(["relevance", "newest", "oldest"]), default="relevance", show_default=True
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option(
    "--rank-all",
    is_flag=True,
    help="Rank by relevance even words in most articles (else their newest are shown; slower).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def search(
    archive: Path, query: str, order: str, limit: int, rank_all: bool, as_json: bool, **filters
) -> None:
    """Full-text search of headlines and bodies, English or Arabic, best matches first."""
    from zwcrawl.store import SearchQueryError, Store

    chosen = _filter(**filters)
    _need_archive(archive)
    with Store(archive / "zwcrawl.db", read_only=True) as store:  # a search never writes, even mid-crawl
        try:
            hits = store.search(query, limit, filters=chosen, order=order, rank_all=rank_all)
        except SearchQueryError as exc:
            raise click.UsageError(str(exc)) from None
    if hits.newest:  # on stderr: the hits on stdout stay the hits, for a pipe or --json
        click.echo(
            f"{hits.matches:,} of {hits.articles:,} articles match, more than half: relevance hardly ranks so"
            " common a word, so the newest are shown (--rank-all ranks them all)",
            err=True,
        )
    for hit in hits:
        if as_json:
            click.echo(json.dumps(hit, ensure_ascii=False))
        else:
            click.echo(f"{hit['edition']}/{hit['article_id']}  {hit['published']}  {hit['headline']}")
            click.echo(f"    {' '.join(hit['snippet'].split())}")  # paragraph breaks would split a hit


@cli.command()
@ARCHIVE_OPTION
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8003,  # not 8001 or 8002, the mirror's: both may run at once
    show_default=True,
    help="The port on 127.0.0.1 (0: any free one).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open it in the web browser.")
def serve(archive: Path, port: int, open_browser: bool) -> None:
    """Browse and query the archive in Datasette, read-only, on 127.0.0.1 (safe beside a running crawl)."""
    from zwcrawl.serve import serve_archive

    if not (archive / "zwcrawl.db").is_file():
        raise click.UsageError(f"no archive at {archive} (no zwcrawl.db there)")

    def started(url: str) -> None:
        click.echo(f"serving {archive / 'zwcrawl.db'} read-only at {url} (Ctrl-C stops)")

    serve_archive(archive / "zwcrawl.db", port, open_browser=open_browser, started=started)


@cli.command()
@ARCHIVE_OPTION
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write (one self-contained file).",
)
def report(archive: Path, output: Path) -> None:
    """Write a one-file HTML report of the archive: crawls, articles, sources, authors, counters, health."""
    from zwcrawl.report import write_report

    if not (archive / "zwcrawl.db").is_file():
        raise click.UsageError(f"no archive at {archive} (no zwcrawl.db there)")
    if not output.parent.is_dir():
        raise click.UsageError(f"no directory {output.parent} for --output")
    write_report(archive, output)
    click.echo(f"wrote {output}")


@cli.command()
@ARCHIVE_OPTION
@click.option(
    "--from-metadata",
    is_flag=True,
    help="Take each article's fields from its metadata record (as extracted at capture time).",
)
@click.option(
    "--site",
    "site_specs",
    multiple=True,
    metavar="EDITION=BASE_URL",
    help="A copy the archive was crawled from, for WARC files older than the crawl options in warcinfo.",
)
@click.option("--workers", type=click.IntRange(1, 64), help="Extraction processes (default: one per CPU).")
def rebuild(archive: Path, from_metadata: bool, site_specs: tuple[str, ...], workers: int | None) -> None:
    """Rebuild the archive database from the WARC files alone; the old one is kept as zwcrawl.db.bak-TIME."""
    from zwcrawl.rebuild import RebuildError, rebuild_archive
    from zwcrawl.site import Sites

    try:
        sites = Sites.parse(list(site_specs))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        result = rebuild_archive(archive, from_metadata=from_metadata, sites=sites, workers=workers)
    except RebuildError as exc:
        raise click.UsageError(str(exc)) from None
    for problem in result.problems:
        click.echo(f"BAD {problem}")
    click.echo(result.summary())
    if result.backup:
        click.echo(f"the old database is kept as {result.backup} (delete it when you no longer need it)")
    sys.exit(1 if result.problems else 0)


@cli.command("import")
@ARCHIVE_OPTION
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--site",
    "site_specs",
    multiple=True,
    metavar="EDITION=BASE_URL",
    help="The captures are of a copy of the site at BASE_URL, as in crawl.",
)
def import_(archive: Path, files: tuple[Path, ...], site_specs: tuple[str, ...]) -> None:
    """Import other crawlers' WARC or WACZ files: the site's records copied, its articles extracted."""
    from zwcrawl.importer import ImportFailed, import_files
    from zwcrawl.site import Sites

    try:
        sites = Sites.parse(list(site_specs))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        result = import_files(archive, list(files), sites=sites)
    except ImportFailed as exc:
        raise click.UsageError(str(exc)) from None
    for problem in result.problems:
        click.echo(f"BAD {problem}")
    click.echo(result.summary())
    sys.exit(1 if result.problems else 0)


@cli.group()
def export() -> None:
    """Write the archive out: articles as JSONL or CSV, captures as a WACZ package."""


@export.command("wacz")
@ARCHIVE_OPTION
@click.option("--output", required=True, type=click.Path(path_type=Path), help="The .wacz file to write.")
@click.option("--edition", type=click.Choice(EDITIONS), help="Only this edition.")
@click.option("--since", metavar="DATE", help="Articles published on or after DATE (YYYY-MM-DD, UTC).")
@click.option("--until", metavar="DATE", help="Articles published on or before DATE (YYYY-MM-DD, UTC).")
@click.option("--crawl", "crawl_id", type=click.IntRange(min=1), help="Only what this crawl captured.")
def export_wacz(archive: Path, output: Path, **filters) -> None:
    """Package captures (their WARC records, a CDXJ index and a page list) as a WACZ for replay tools."""
    from zwcrawl.wacz_export import CaptureFilter, ExportError, UsageError, export_wacz

    try:
        result = export_wacz(archive, output, CaptureFilter.parse(**filters))
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    except ExportError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"wrote {result.path}: {result.pages} article captures, {result.records} WARC records copied "
        f"into {result.warc_files} file(s), {result.size:,} bytes"
    )


def _export_articles(archive: Path, output: str, fmt: str, filters: dict) -> None:
    from zwcrawl.article_export import ExportError, check_output, export_articles

    chosen = _filter(**filters)
    try:
        check_output(output)
        _need_archive(archive)
        count = export_articles(archive, output, fmt, chosen)
    except ExportError as exc:
        raise click.UsageError(str(exc)) from None
    if output != "-":
        click.echo(f"{count} articles written to {output}")


_OUTPUT_OPTION = click.option(
    "--output", "-o", required=True, metavar="PATH", help="The file to write, or - for stdout."
)


def _article_export(command):
    """The options of an article export: the archive, the file to write, and the articles to choose."""
    return ARCHIVE_OPTION(_OUTPUT_OPTION(_article_filters(command)))


@export.command("jsonl")
@_article_export
def export_jsonl(archive: Path, output: str, **filters) -> None:
    """Articles as JSON Lines: one per line, people, images, comments and counters nested."""
    _export_articles(archive, output, "jsonl", filters)


@export.command("csv")
@_article_export
def export_csv(archive: Path, output: str, **filters) -> None:
    """Articles as CSV: one per row, lists joined with "; "."""
    _export_articles(archive, output, "csv", filters)


@cli.group()
def schedule() -> None:
    """Crawls on a plan, kept in the archive: add, list, remove, and run what is due."""


@schedule.command(
    "add", context_settings={"ignore_unknown_options": True, "help_option_names": ["-h", "--help"]}
)
@ARCHIVE_OPTION
@click.argument("name")
@click.option("--every", metavar="DURATION", help="Run every DURATION: 30m, 6h, 1d, 1h30m.")
@click.option("--cron", metavar="EXPRESSION", help='Run at the times of a cron expression: "0 * * * *".')
@click.option("--tz", metavar="ZONE", help="The time zone --cron is read in (default UTC).")
@click.argument("crawl_options", nargs=-1, type=click.UNPROCESSED)
def schedule_add(
    archive: Path, name: str, every: str | None, cron: str | None, tz: str | None, crawl_options: tuple
) -> None:
    """Add schedule NAME, due at once; crawl options (--edition, --site, --ids, ...) follow the plan."""
    from datetime import UTC, datetime

    from zwcrawl.schedule import Plan, ScheduleBook

    try:
        plan = Plan.parse(every=every, cron=cron, tz=tz)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    # The crawl's own parser checks the options now, so a mistake shows here, not at 3 a.m.
    params = crawl.make_context("zwcrawl crawl", list(crawl_options)).params
    if params["schedule"] is not None or params["archive"] != Path("archive"):
        raise click.UsageError("give --archive before the crawl options, and no --schedule")
    _checked_crawl_options(params["editions"], params["site_specs"], params["ids"], params["overrides"])
    with ScheduleBook(archive, create=True) as book:
        try:
            book.add(name, plan, list(crawl_options), datetime.now(UTC))
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(f"schedule {name} added: {plan.describe()}, due now; zwcrawl schedule run starts it")


@schedule.command("list")
@ARCHIVE_OPTION
def schedule_list(archive: Path) -> None:
    """Each schedule: its plan, its last run and how it ended, and when it is next due."""
    import shlex

    from zwcrawl.schedule import ScheduleBook

    _need_archive(archive)
    with ScheduleBook(archive, read_only=True) as book:  # a listing never writes, even mid-crawl
        rows = [("NAME", "PLAN", "LAST RUN", "OUTCOME", "NEXT DUE", "CRAWL OPTIONS")]
        for entry, last in book.schedules():
            outcome = "-" if last is None else last["outcome"]
            if last is not None and last["crawl_id"] is not None:
                outcome += f" (crawl {last['crawl_id']})"
            rows.append(
                (entry.name, entry.plan.describe(), "-" if last is None else last["claimed_at"], outcome,
                 entry.next_due, shlex.join(entry.crawl_args))
            )  # fmt: skip
    if len(rows) == 1:
        click.echo("no schedules (add one with zwcrawl schedule add)")
        return
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@schedule.command("remove")
@ARCHIVE_OPTION
@click.argument("name")
def schedule_remove(archive: Path, name: str) -> None:
    """Remove schedule NAME; its past runs stay on record."""
    from zwcrawl.schedule import ScheduleBook

    _need_archive(archive)
    with ScheduleBook(archive) as book:
        try:
            book.remove(name)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(f"schedule {name} removed")


@schedule.command("run")
@ARCHIVE_OPTION
@click.option("--once", is_flag=True, help="Start what is due, one crawl at a time, then exit (for cron).")
def schedule_run(archive: Path, once: bool) -> None:
    """Start due crawls, each as its own process; without --once keep running until SIGTERM."""
    from zwcrawl.schedule.runner import ScheduleRunner

    _need_archive(archive)
    runner = ScheduleRunner(archive, say=lambda line: click.echo(line))
    sys.exit(runner.run(once=once))


def _summary(archive: Path, result) -> None:
    stats = result.stats  # the crawl row's figures: crawler.stats' zwcrawl/ keys
    failures, parse_errors = stats.get("failures", 0), stats.get("parse_errors", 0)
    click.echo(
        f"crawl {result.crawl_id} {result.status}: {stats.get('pages', 0)} pages captured, "
        f"{stats.get('articles/new', 0)} new articles, {stats.get('articles/updated', 0)} updated, "
        f"{stats.get('articles/unchanged', 0)} unchanged, {stats.get('missing', 0)} missing ids, "
        f"{failures - parse_errors} failed fetches, {parse_errors} pages zwcrawl could not read, "
        f"{stats.get('removed', 0)} archived articles removed by the site"
    )
    _health(result)
    click.echo(f"archive: {archive / 'zwcrawl.db'}, {archive / 'warc'}/; log: {result.log_file}")
    if failures and result.crawl_id is not None:
        _show_failures(archive, result.crawl_id)


def _health(result) -> None:
    """Extraction health, one line per edition; each alarm one warning line on stderr."""
    from zwcrawl.health import summary_lines
    from zwcrawl.site import EDITIONS

    for line in summary_lines(result.stats, EDITIONS):
        click.echo(line)
    for line in result.health_alarms:
        click.echo(f"zwcrawl: warning: {line}", err=True)


def _show_failures(archive: Path, crawl_id: int, most: int = 5) -> None:
    """The first failures of a crawl, so a run that archived nothing says why at once."""
    from zwcrawl.store import Store

    with Store(archive / "zwcrawl.db", read_only=True) as store:
        failures = store.failures(crawl_id, most + 1)
    click.echo(f"failures (all in the failures table, crawl_id {crawl_id}):")
    for failure in failures[:most]:
        click.echo(f"  {failure['url']}: {failure['reason']}")
    if len(failures) > most:
        click.echo("  ...")


if __name__ == "__main__":
    main()
