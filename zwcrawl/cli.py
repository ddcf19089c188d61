"""The `zwcrawl` command line: one click group, each command a short call into the layers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from zwcrawl.site import EDITIONS

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
        except BrokenPipeError:
            # The reader went away (`zwcrawl search ... | head`): stop quietly, as a tool killed by SIGPIPE
            # would; stdout goes to /dev/null so the flush at exit cannot fail a second time.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(141) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence: one clear line
            raise click.ClickException(str(exc) or type(exc).__name__) from None


@click.group(cls=_Group)
@click.version_option(package_name="zwcrawl")
def cli() -> None:
    """Archive the Zaman al-Wasl news site into WARC files and a SQLite archive."""


def main(argv: list[str] | None = None) -> None:
    """The console entry point: every error is one line on stderr and a non-zero exit."""
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
def crawl(
    archive: Path,
    editions: tuple[str, ...],
    site_specs: tuple[str, ...],
    ids: range | None,
    refresh: bool,
    refresh_due: bool,
    full: bool,
    overrides: tuple[str, ...],
) -> None:
    """Crawl Zaman al-Wasl into the archive: WARC captures plus the SQLite archive."""
    from zwcrawl.crawl import parse_overrides, run_crawl
    from zwcrawl.site import Sites

    editions = tuple(dict.fromkeys(editions)) or EDITIONS
    try:
        sites = Sites.parse(list(site_specs))
        parse_overrides(list(overrides))
        if ids is not None and len(editions) != 1:
            raise ValueError("--ids enumerates one edition's ids: give exactly one --edition")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
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
    )
    _summary(archive, result)
    if result.reached_nothing:
        click.echo("zwcrawl: the site answered nothing: every fetch failed (listed above)", err=True)
    sys.exit(result.exit_code)


@cli.command()
@ARCHIVE_OPTION
def demo(archive: Path) -> None:
    """Serve the copy of the site shipped with zwcrawl on 127.0.0.1 and crawl both editions from it."""
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
    click.echo(demo_report(archive))
    sys.exit(result.exit_code)


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--port-en", type=click.IntRange(0, 65535), default=8001, show_default=True)
@click.option("--port-ar", type=click.IntRange(0, 65535), default=8002, show_default=True)
def mirror(path: Path, port_en: int, port_ar: int) -> None:
    """Serve a saved copy of the site (one directory per host) on 127.0.0.1, one port per edition."""
    from zwcrawl.mirror import serve_forever

    serve_forever(path, {"en": port_en, "ar": port_ar})


@cli.command()
@ARCHIVE_OPTION
def verify(archive: Path) -> None:
    """Check every WARC record and every row that points into the WARC files; exit 0 only if all hold."""
    from zwcrawl.verify import verify_archive

    if not (archive / "zwcrawl.db").is_file():
        raise click.UsageError(f"no archive at {archive} (no zwcrawl.db there)")
    report = verify_archive(archive)
    for problem in report.problems:
        click.echo(f"BAD {problem}")
    click.echo(report.summary())
    sys.exit(0 if report.ok else 1)


@cli.command()
@ARCHIVE_OPTION
@click.argument("query")
@click.option("--edition", type=click.Choice(EDITIONS), help="Only this edition.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def search(archive: Path, query: str, edition: str | None, limit: int, as_json: bool) -> None:
    """Full-text search of headlines and bodies, English or Arabic, best matches first."""
    from zwcrawl.store import Store

    if not (archive / "zwcrawl.db").is_file():
        raise click.UsageError(f"no archive at {archive} (no zwcrawl.db there)")
    with Store(archive / "zwcrawl.db", read_only=True) as store:  # a search never writes, even mid-crawl
        hits = store.search(query, limit, edition=edition)
    for hit in hits:
        if as_json:
            click.echo(json.dumps(hit, ensure_ascii=False))
        else:
            click.echo(f"{hit['edition']}/{hit['article_id']}  {hit['published']}  {hit['headline']}")
            click.echo(f"    {' '.join(hit['snippet'].split())}")  # paragraph breaks would split a hit


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


def _summary(archive: Path, result) -> None:
    stats = result.stats  # the crawl row's figures: crawler.stats' zwcrawl/ keys
    failures, parse_errors = stats.get("failures", 0), stats.get("parse_errors", 0)
    click.echo(
        f"crawl {result.crawl_id} {result.status}: {stats.get('pages', 0)} pages captured, "
        f"{stats.get('articles/new', 0)} new articles, {stats.get('articles/updated', 0)} updated, "
        f"{stats.get('articles/unchanged', 0)} unchanged, {stats.get('missing', 0)} missing ids, "
        f"{failures - parse_errors} failed fetches, {parse_errors} pages zwcrawl could not read"
    )
    click.echo(f"archive: {archive / 'zwcrawl.db'}, {archive / 'warc'}/; log: {result.log_file}")
    if failures and result.crawl_id is not None:
        _show_failures(archive, result.crawl_id)


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
