"""The `zwcrawl` command line: one click group, each command a short call into the layers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


class _Group(click.Group):
    """A click group that turns an unexpected error into one line and exit 1, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("zwcrawl: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: one clear line, no traceback
            click.echo(f"zwcrawl: {type(exc).__name__}: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="zwcrawl")
def main() -> None:
    """Archive the Zaman al-Wasl news site into WARC files and a SQLite archive."""


@main.command()
@click.argument("page", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", required=True, help="The article's URL (any spelling of it).")
def extract(page: Path, url: str) -> None:
    """Extract one saved article page and print its fields as JSON."""
    from zwcrawl.extract import extract_article
    from zwcrawl.site import canonical_article_url

    if canonical_article_url(url) is None:
        raise click.UsageError(f"not a Zaman al-Wasl article URL: {url}")
    try:
        html = page.read_bytes()
    except OSError as exc:
        raise click.UsageError(f"cannot read {page}: {exc.strerror or exc}") from None
    fields = extract_article(html, url)
    click.echo(json.dumps(fields, ensure_ascii=False, indent=2))
