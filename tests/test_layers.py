"""The layers keep their places: the spider decides what to fetch, and only the pipeline and archive write."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from zwcrawl.article import FIELDS, Article
from zwcrawl.store import Store

ROOT = Path(__file__).resolve().parent.parent / "zwcrawl"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_the_spider_neither_imports_nor_calls_the_store():
    source = ROOT / "spiders" / "zaman.py"
    assert not {name for name in _imports(source) if name.startswith("zwcrawl.store")}
    assert ".store" not in source.read_text(encoding="utf-8")


def test_extraction_never_imports_scrapy_or_the_store():
    for path in (ROOT / "extract").glob("*.py"):
        assert not {n for n in _imports(path) if n.startswith(("scrapy", "zwcrawl.store"))}, path


def test_every_stored_article_field_has_its_column(tmp_path):
    """The article's fields are named once (Article); the DDL must hold a column for each stored one."""
    with Store(tmp_path / "zwcrawl.db") as store:
        articles = set(store.db["articles"].columns_dict)
        observations = set(store.db["observations"].columns_dict)
    assert set(Article.names("column")) | set(Article.names("counter")) | {"image_url"} <= articles
    assert set(Article.names("counter")) <= observations
    assert tuple(f.name for f in dataclasses.fields(Article) if f.metadata["stored"]) == FIELDS
