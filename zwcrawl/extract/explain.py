"""`zwcrawl extract --explain`: per field, which strategy found it and what each strategy read, as text."""

from __future__ import annotations

import json

from zwcrawl.extract.article import ArticlePage

_WIDTH = 96


def explain_text(page: ArticlePage) -> str:
    """A readable report of how each field of a page was found."""
    if page.is_article:
        verdict = "an article"
    elif page.is_not_found:
        verdict = "not an article: the site's not-found page"
    else:
        verdict = "not an article, and not the site's not-found page (drift, damage or another page)"
    out = [f"{page.url}: {verdict}", ""]
    for name, found in page.explain().items():
        out.append(f"{name}: {'found by ' + found['strategy'] if found['strategy'] else 'not found'}")
        for strategy, reading in found["readings"].items():
            mark = "*" if strategy == found["strategy"] else " "
            agrees = reading == found["value"] and _short(reading) != "-" and strategy != found["strategy"]
            same = " (the same)" if agrees else ""
            out.append(f"  {mark} {strategy:<10} {_short(reading)}{same}")
    return "\n".join(out)


def _short(value) -> str:
    if value is None or value == [] or value is False:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"
