"""Datasette metadata (0.65 format) for an archive, derived from the comments in its own DDL."""

from __future__ import annotations

import sqlite3

from zwcrawl.serve.queries import CANNED_QUERIES
from zwcrawl.serve.schema_notes import schema_notes

DATABASE = "zwcrawl"  # the name the archive is served under: /zwcrawl/articles.json

# How a person browses the articles: the search index, facets, newest first, rows named by headline.
_ARTICLES = {
    "fts_table": "articles_fts",
    "fts_pk": "rowid",
    "sort_desc": "published",
    "label_column": "headline",
    "facets": ["edition", "section", "source", {"author": "authors"}, {"month": "published"}],
}


def archive_metadata(conn: sqlite3.Connection) -> dict:
    """Titles and descriptions of every table and column, facets, search and canned queries."""
    tables = {}
    for notes in schema_notes(conn):
        table: dict = {"title": _title(notes.name)}
        if notes.description is None:
            # The search index, its shadow tables and sqlite-utils' migration log: no comment, no reader.
            table["hidden"] = True
        else:
            table["description"] = notes.description
        table["columns"] = {column: text for column, text in notes.columns.items() if text is not None}
        tables[notes.name] = table
    tables.setdefault("articles", {}).update(_ARTICLES)
    return {
        "title": "Zaman al-Wasl archive",
        "description": "Articles, captures and crawls archived by zwcrawl, served read-only.",
        "databases": {
            DATABASE: {
                "title": "Zaman al-Wasl archive",
                "description": (
                    "Start with articles (search it in English or Arabic), or one of the queries below."
                ),
                "tables": tables,
                "queries": CANNED_QUERIES,
            }
        },
    }


def _title(name: str) -> str:
    """article_versions -> Article versions."""
    return name.replace("_", " ").strip().capitalize()
