"""zwcrawl search's filters and the JSONL and CSV exports, on an archive crawled from the local mirror."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from conftest import ZWSITE, site_flags, zwcrawl

from zwcrawl.mirror import MirrorServer

LISTS = ["authors", "translators", "images", "comments"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """An archive made by crawling the local mirror of both editions."""
    tmp = tmp_path_factory.mktemp("tools")
    with MirrorServer(ZWSITE, log_path=tmp / "mirror.jsonl") as server:
        result = zwcrawl("crawl", "--archive", tmp / "archive", *site_flags(server))
    assert result.returncode == 0, result.stderr
    return tmp / "archive"


def rows(archive: Path, sql: str, *params) -> list[dict]:
    with sqlite3.connect(f"file:{archive / 'zwcrawl.db'}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, params)]


def columns(archive: Path) -> list[str]:
    """The articles table's columns, in order: every one is exported."""
    return [row["name"] for row in rows(archive, "select name from pragma_table_info('articles')")]


def search(archive: Path, *args) -> list[dict]:
    result = zwcrawl("search", "--archive", archive, "--json", "--limit", 100, *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def one_line_refusal(result, message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("zwcrawl: ") and message in line, line


def test_search_json_fields_and_filters(archive):
    hits = search(archive, "Syria")
    assert hits and all(
        list(hit) == ["edition", "article_id", "url", "headline", "published", "source", "authors", "snippet"]
        for hit in hits
    )
    by_id = {hit["article_id"]: hit for hit in hits}
    assert by_id[34459]["authors"] == ["Lena Morgan", "Paul Keane"]
    assert [h["article_id"] for h in search(archive, "Syria", "--author", "Paul Keane")] == [34459]
    assert {h["source"] for h in search(archive, "Syria", "--source", "AFP")} == {"AFP"}
    sections = rows(archive, "select article_id, section from articles")
    middle_east = {r["article_id"] for r in sections if r["section"] == "Middle East"}
    in_section = {h["article_id"] for h in search(archive, "Syria", "--section", "Middle East")}
    assert in_section and in_section <= middle_east
    dated = search(archive, "Syria", "--since", "2018-04-16", "--until", "2018-04-18")
    assert dated and all("2018-04-16" <= h["published"][:10] <= "2018-04-18" for h in dated)
    assert {h["article_id"] for h in dated} == {
        h["article_id"] for h in hits if "2018-04-16" <= h["published"][:10] <= "2018-04-18"
    }
    assert search(archive, "Syria", "--edition", "ar") == []
    newest = [h["published"] for h in search(archive, "Syria", "--order", "newest")]
    assert newest == sorted(newest, reverse=True) and len(newest) == len(hits)
    oldest = [h["published"] for h in search(archive, "Syria", "--order", "oldest")]
    assert oldest == sorted(oldest)


def test_a_word_in_most_articles_shows_the_newest_and_says_so_on_stderr(archive):
    (articles,) = [r["n"] for r in rows(archive, "select count(*) as n from articles")]
    ranked = search(archive, "the", "--rank-all")
    assert 2 * len(ranked) > articles
    result = zwcrawl("search", "--archive", archive, "--json", "--limit", 100, "the")
    assert result.returncode == 0, result.stderr
    newest = [json.loads(line) for line in result.stdout.splitlines()]
    assert [h["published"] for h in newest] == sorted((h["published"] for h in ranked), reverse=True)
    assert {h["article_id"] for h in newest} == {h["article_id"] for h in ranked}
    assert result.stderr.strip() == (
        f"{len(ranked)} of {articles} articles match, more than half: relevance hardly ranks so common"
        " a word, so the newest are shown (--rank-all ranks them all)"
    )
    # A word in fewer: ranked, in silence.
    assert zwcrawl("search", "--archive", archive, "Syria").stderr == ""


def test_digits_and_stems_from_the_command_line(archive):
    western = {h["article_id"] for h in search(archive, "2011")}
    assert western and {h["article_id"] for h in search(archive, "٢٠١١")} == western
    assert {h["article_id"] for h in search(archive, "attacking")} >= {10605, 34459, 34462}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Syria", "--since", "2018-13-01"], "--since '2018-13-01' is not a date"),
        (["Syria", "--until", "last week"], "--until 'last week' is not a date"),
        (['"'], "nothing to search for in '\"'"),
        ([" ".join(["حلب"] * 3000)], "the query has 3,000 words"),
        (["Syria", "--order", "random"], "Invalid value for '--order'"),
    ],
)
def test_search_refusals(archive, args, message):
    one_line_refusal(zwcrawl("search", "--archive", archive, *args), message)


def test_export_jsonl_nests_people_images_comments_and_counters(archive, tmp_path):
    out = tmp_path / "articles.jsonl"
    result = zwcrawl("export", "jsonl", "--archive", archive, "--output", out)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    stored = rows(archive, "select * from articles order by edition, article_id")
    assert result.stdout.strip() == f"{len(stored)} articles written to {out}"
    assert [(r["edition"], r["article_id"]) for r in records] == [
        (r["edition"], r["article_id"]) for r in stored
    ]
    for record, row in zip(records, stored, strict=True):
        counters = {"likes", "dislikes", "comments_count"}
        assert set(record) == {*columns(archive), *LISTS, "counters"} - counters
        assert record["body"] == row["body"] and record["published"] == row["published"]
        assert record["counters"] == {
            "likes": row["likes"], "dislikes": row["dislikes"], "comments_count": row["comments_count"],
            "observed_at": row["last_seen"],
        }  # fmt: skip
        images = rows(
            archive, "select url, caption from images where edition = ? and article_id = ? order by position",
            row["edition"], row["article_id"],
        )  # fmt: skip
        assert record["images"] == images
        comments = rows(
            archive, "select text from comments where edition = ? and article_id = ? order by position",
            row["edition"], row["article_id"],
        )  # fmt: skip
        assert [c["text"] for c in record["comments"]] == [c["text"] for c in comments]
    by_id = {r["article_id"]: r for r in records}
    assert by_id[34459]["authors"] == ["Lena Morgan", "Paul Keane"]
    assert any(r["images"] for r in records) and any(r["comments"] for r in records)
    assert any(r["translators"] for r in records) or all(
        not rows(archive, "select * from article_translators")
    )
    assert not [p for p in tmp_path.iterdir() if p.name != "articles.jsonl"], "no temporary file left"


def test_export_csv_flattens_lists_and_filters(archive, tmp_path):
    out = tmp_path / "en.csv"
    result = zwcrawl(
        "export", "csv", "--archive", archive, "-o", out, "--edition", "en", "--since", "2018-01-01"
    )
    assert result.returncode == 0, result.stderr
    with out.open(newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == [*columns(archive), *LISTS]
    expected = rows(
        archive,
        "select article_id from articles where edition = 'en' and published >= '2018-01-01'"
        " order by article_id",
    )
    assert [int(r["article_id"]) for r in table] == [r["article_id"] for r in expected]
    by_id = {int(r["article_id"]): r for r in table}
    assert by_id[34459]["authors"] == "Lena Morgan; Paul Keane"
    with_images = [r for r in table if r["image_url"]]
    assert with_images and all(r["images"].split("; ")[0] == r["image_url"] for r in with_images)


def test_export_to_stdout(archive):
    result = zwcrawl("export", "jsonl", "--archive", archive, "--output", "-", "--author", "Paul Keane")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["article_id"] for line in result.stdout.splitlines()] == [34459]
    result = zwcrawl("export", "csv", "--archive", archive, "--output", "-", "--edition", "ar")
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["edition"] for r in table} == {"ar"} and len(table) == len(
        rows(archive, "select 1 from articles where edition = 'ar'")
    )


def test_export_refusals(archive, tmp_path):
    missing = tmp_path / "no such dir" / "articles.jsonl"
    one_line_refusal(zwcrawl("export", "jsonl", "--archive", archive, "--output", missing), "the directory")
    assert not missing.parent.exists()
    one_line_refusal(zwcrawl("export", "csv", "--archive", archive, "--output", tmp_path), "is a directory")
    one_line_refusal(
        zwcrawl("export", "csv", "--archive", archive, "-o", tmp_path / "x.csv", "--since", "2018-02-30"),
        "is not a date",
    )
    assert list(tmp_path.iterdir()) == []


def test_an_export_replaces_a_file_only_when_whole(archive, tmp_path):
    out = tmp_path / "articles.csv"
    out.write_text("the previous export\n")
    result = zwcrawl("export", "csv", "--archive", archive, "-o", out)
    assert result.returncode == 0
    assert out.read_text("utf-8").startswith("edition,article_id")
