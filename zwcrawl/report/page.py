"""The report as one self-contained HTML page: inline CSS and SVG, nothing fetched from anywhere."""

from __future__ import annotations

import math
from html import escape

from zwcrawl.report.data import ReportData
from zwcrawl.report.svg import column_chart, inline_bar, line_chart
from zwcrawl.site import EDITIONS

_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, "DejaVu Sans", "Noto Sans", "Noto Naskh Arabic", sans-serif;
  color: #1d2430; background: #fbfbf9; margin: 0; }
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 36px 0 8px;
  border-bottom: 1px solid #d8dde4; padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 4px; }
.muted { color: #5b6675; } .small { font-size: 13px; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px;
  margin: 18px 0; }
.figure { background: #fff; border: 1px solid #d8dde4; border-radius: 6px; padding: 10px 12px; }
.figure b { display: block; font-size: 22px; } .figure span { color: #5b6675; font-size: 13px; }
table { border-collapse: collapse; width: 100%; background: #fff; margin: 6px 0 12px; }
th, td { text-align: start; padding: 4px 8px; border-bottom: 1px solid #e6e9ee; vertical-align: top; }
th { font-size: 13px; color: #5b6675; font-weight: 600; } td.n { text-align: end;
  font-variant-numeric: tabular-nums; white-space: nowrap; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
@media (max-width: 760px) { .columns { grid-template-columns: 1fr; } }
svg.chart { width: 100%; height: auto; background: #fff; border: 1px solid #d8dde4; border-radius: 6px; }
svg.chart text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: #5b6675; }
svg.chart .grid { stroke: #e6e9ee; } svg.bar { width: 140px; height: 12px; }
.legend { font-size: 13px; margin: 4px 0 0; } .legend i { display: inline-block; width: 10px;
  height: 10px; margin: 0 4px 0 12px; border-radius: 2px; }
.en { fill: #3b6ea5; background: #3b6ea5; } .ar { fill: #c0792b; background: #c0792b; }
.pages { fill: #7d8ca3; background: #7d8ca3; } .new { fill: #3a8a5a; background: #3a8a5a; }
.failures { fill: #c0392b; background: #c0392b; }
.likes { stroke: #3a8a5a; fill: #3a8a5a; background: #3a8a5a; }
.dislikes { stroke: #c0392b; fill: #c0392b; background: #c0392b; }
polyline { fill: none !important; stroke-width: 2; }
.rtl-note { unicode-bidi: plaintext; } code { font-size: 13px; }
"""


def render_page(data: ReportData) -> str:
    """The whole report page for the data read from one archive."""
    sections = [
        _header(data),
        _crawl_history(data),
        _months(data),
        _sources_and_authors(data),
        _counters(data),
        _health(data),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en" dir="ltr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # Opened from a USB stick or a mail attachment, it may fetch nothing: not even a favicon.
        '<meta http-equiv="Content-Security-Policy"'
        " content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n"
        '<link rel="icon" href="data:,">\n'
        "<title>Zaman al-Wasl archive: report</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(sections)
        + "\n</main>\n</body>\n</html>\n"
    )


def _header(data: ReportData) -> str:
    total = sum(data.articles.values())
    figures = [
        (f"{total:,}", "articles (" + ", ".join(f"{data.articles.get(e, 0):,} {e}" for e in EDITIONS) + ")"),
        (f"{len(data.crawls):,}", "crawls"),
        (f"{data.captures:,}", "WARC records"),
        (_size(data.warc_bytes), f"in {data.warc_files:,} WARC files"),
        (_size(data.database_bytes), "SQLite database"),
        (f"{data.failures:,}", "failed fetches"),
        (f"{sum(data.missing.values()):,}", "missing article ids"),
    ]
    as_of = (
        f"As of {_time(data.as_of)}, the archive's latest capture."
        if data.as_of
        else "The archive holds no capture yet."
    )
    cards = "".join(
        f'<div class="figure"><b>{value}</b><span>{escape(text)}</span></div>' for value, text in figures
    )
    return (
        "<header>\n<h1>Zaman al-Wasl archive</h1>\n"
        f'<p class="muted">{escape(as_of)} Written by <code>zwcrawl report</code>; every figure comes'
        f' from the archive.</p>\n<div class="figures">{cards}</div>\n</header>'
    )


def _crawl_history(data: ReportData) -> str:
    if not data.crawls:
        return '<section id="crawls"><h2>Crawl history</h2><p>No crawl yet.</p></section>'
    crawls = data.crawls
    chart = column_chart(
        [str(c.id) for c in crawls],
        [
            ("pages", "pages", [c.pages for c in crawls]),
            ("new articles", "new", [c.new_articles for c in crawls]),
            ("failures", "failures", [c.failures for c in crawls]),
        ],
        label="Pages, new articles and failures per crawl",
        label_every=math.ceil(len(crawls) / 30),
    )
    rows = "".join(
        f"<tr><td class=n>{c.id}</td><td>{escape(_time(c.started_at))}</td>"
        f"<td>{escape(_time(c.ended_at) if c.ended_at else '')}</td><td>{escape(c.status)}</td>"
        f"<td>{escape(c.editions)}</td><td class=n>{c.pages:,}</td><td class=n>{c.new_articles:,}</td>"
        f"<td class=n>{c.failures:,}</td></tr>"
        for c in reversed(crawls[-20:])
    )
    more = f'<p class="small muted">The latest 20 of {len(crawls):,} crawls.</p>' if len(crawls) > 20 else ""
    return (
        '<section id="crawls"><h2>Crawl history</h2>\n'
        '<p class="muted small">Per crawl (by id): pages fetched (responses and revisits), articles seen'
        " for the first time, and URLs that stayed failed.</p>\n"
        f"{chart}\n{_legend(('pages', 'pages'), ('new articles', 'new'), ('failures', 'failures'))}\n"
        "<table><thead><tr><th>crawl</th><th>started (UTC)</th><th>ended (UTC)</th><th>status</th>"
        "<th>editions</th><th>pages</th><th>new articles</th><th>failures</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{more}</section>"
    )


def _months(data: ReportData) -> str:
    if not data.months:
        return '<section id="months"><h2>Articles per month</h2><p>No dated article yet.</p></section>'
    months = [m for m, _ in data.months]
    chart = column_chart(
        months,
        [(e, e, [counts.get(e, 0) for _, counts in data.months]) for e in EDITIONS],
        label="Articles per month of publication, by edition",
        stacked=True,
        label_every=math.ceil(len(months) / 12),
    )
    return (
        '<section id="months"><h2>Articles per month</h2>\n'
        '<p class="muted small">By month of publication (UTC), English and Arabic editions stacked;'
        " only the months that have an article are drawn.</p>\n"
        f"{chart}\n{_legend(('en (English)', 'en'), ('ar (Arabic)', 'ar'))}</section>"
    )


def _sources_and_authors(data: ReportData) -> str:
    return (
        '<section id="sources"><h2>Most-cited sources and authors</h2>\n<div class="columns">'
        f"<div><h3>Sources</h3>{_ranking(data.sources, 'source', 'en')}</div>"
        f"<div><h3>Authors</h3>{_ranking(data.authors, 'author', 'ar')}</div>"
        "</div></section>"
    )


def _ranking(pairs: list[tuple[str, int]], what: str, css: str) -> str:
    if not pairs:
        return f"<p>No {what} named yet.</p>"
    peak = pairs[0][1]
    rows = "".join(
        f'<tr><td dir="auto">{escape(name)}</td><td class=n>{count:,}</td>'
        f"<td>{inline_bar(count, peak, css)}</td></tr>"
        for name, count in pairs
    )
    head = f"<thead><tr><th>{what}</th><th>articles</th><th></th></tr></thead>"
    return f"<table>{head}<tbody>{rows}</tbody></table>"


def _counters(data: ReportData) -> str:
    if not data.series:
        return (
            '<section id="counters"><h2>Likes and dislikes over time</h2>'
            "<p>No article has been fetched twice yet (<code>zwcrawl crawl --refresh</code> does).</p>"
            "</section>"
        )
    parts = []
    for s in data.series:
        chart = line_chart(
            s.observed_at,
            [("likes", "likes", s.likes), ("dislikes", "dislikes", s.dislikes)],
            label=f"Likes and dislikes of {s.edition}/{s.article_id} over time",
            width=480,  # two charts a row
        )
        last = f"{_count(s.likes[-1])} likes, {_count(s.dislikes[-1])} dislikes"
        last += f" at the latest of {len(s.likes)} fetches"
        parts.append(
            f'<div><h3 dir="auto">{escape(s.headline or "(no headline)")}</h3>'
            f'<p class="small muted">{s.edition}/{s.article_id}: {last}</p>{chart}</div>'
        )
    return (
        '<section id="counters"><h2>Likes and dislikes over time</h2>\n'
        '<p class="muted small">The articles fetched most often, each fetch a point.</p>\n'
        + _legend(("likes", "likes"), ("dislikes", "dislikes"))
        + '<div class="columns">'
        + "\n".join(parts)
        + "</div></section>"
    )


def _health(data: ReportData) -> str:
    verify = (
        escape(data.last_verify)
        if data.last_verify
        else "not recorded in the archive: run <code>zwcrawl verify</code> to check every record and row"
    )
    rows = [
        ("SQLite database", _size(data.database_bytes)),
        ("WARC files", f"{data.warc_files:,} files, {_size(data.warc_bytes)}, {data.captures:,} records"),
        ("last verify", verify),
        ("failed fetches", f"{data.failures:,}"),
        ("missing article ids", ", ".join(f"{n:,} {e}" for e, n in data.missing.items()) or "none"),
    ]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    failures = "".join(
        f"<tr><td class=n>{crawl}</td><td><code>{escape(url)}</code></td><td>{escape(reason)}</td></tr>"
        for crawl, url, reason in data.recent_failures
    )
    missing = ", ".join(f"{e}/{i} ({escape(reason)})" for e, i, reason in data.missing_ids)
    return (
        '<section id="health"><h2>Archive size and health</h2>\n'
        f"<table><tbody>{table}</tbody></table>\n"
        + (
            "<h3>Latest failed fetches</h3><table><thead><tr><th>crawl</th><th>URL</th><th>why</th></tr>"
            f"</thead><tbody>{failures}</tbody></table>"
            if failures
            else ""
        )
        + (f'<h3>Missing ids</h3><p class="small">{missing}</p>' if missing else "")
        + "</section>"
    )


def _legend(*entries: tuple[str, str]) -> str:
    return (
        '<p class="legend">'
        + "".join(f'<i class="{css}"></i>{escape(text)}' for text, css in entries)
        + "</p>"
    )


def _size(count: float) -> str:
    if count < 1024:
        return f"{int(count):,} bytes"
    unit = "KB"
    for unit in ("KB", "MB", "GB"):  # noqa: B007 - the unit the loop stops at is the one printed
        count /= 1024
        if count < 1024:
            break
    return f"{count:,.1f} {unit}"


def _time(value: str | None) -> str:
    return (value or "").replace("T", " ").replace("Z", " UTC")


def _count(value: int | None) -> str:
    return "no" if value is None else f"{value:,}"
