"""zwcrawl's Datasette plugin: Arabic-folded search, author and month facets, links from rows to captures."""

from __future__ import annotations

from urllib.parse import urlencode

from datasette import hookimpl
from datasette.facets import Facet
from datasette.filters import FilterArguments
from datasette.utils import path_with_added_args, path_with_removed_args
from markupsafe import Markup, escape

from zwcrawl.serve.metadata import DATABASE
from zwcrawl.store.query import literal_search_query

# Tables whose article_id names an archived article (not `missing`, whose ids were never archived).
_ARTICLE_TABLES = frozenset(
    {"observations", "article_versions", "images", "comments", "article_people", "article_authors"}
    | {"article_translators", None}  # None: the result of a canned or custom query
)


@hookimpl(trylast=True)
def prepare_connection(conn, database, datasette):
    """Fold the search box's query like the index, replacing Datasette's own escape_fts for the archive."""
    # trylast: pluggy calls later hooks first, so this runs after Datasette registers its escape_fts and
    # replaces it. Datasette's table search is `match escape_fts(:search)`; the index holds folded text.
    if database == DATABASE:
        conn.create_function("escape_fts", 1, literal_search_query, deterministic=True)


@hookimpl
def register_facet_classes():
    """The author and month facets of the articles table."""
    return [AuthorFacet, MonthFacet]


@hookimpl
def filters_from_request(request, database, table, datasette):
    """?_author=NAME keeps the articles that name this author (the author facet's filter)."""
    names = request.args.getlist("_author") if database == DATABASE and table == "articles" else []
    if not names:
        return None
    clauses, params = [], {}
    for i, name in enumerate(names):
        # A row-value IN, not a correlated EXISTS: SQLite starts from the author's few rows (by index)
        # instead of testing every article; 10 ms against 0.02 ms on 2,000 articles.
        clauses.append(
            "(articles.edition, articles.article_id) in"
            f" (select edition, article_id from article_authors where name = :author_{i})"
        )
        params[f"author_{i}"] = name
    return FilterArguments(clauses, params, [f'author is "{name}"' for name in names])


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """Capture ids show their WARC file, offset and record id; articles link to versions and counters."""
    if database != DATABASE:
        return None
    if isinstance(value, dict):  # a foreign key Datasette expanded to {"value", "label"}
        value = value.get("value")
    if column == "capture_id" and value is not None:
        return _capture_link(datasette, value)
    if column == "article_id" and value is not None and "edition" in row.keys():  # noqa: SIM118 - sqlite3.Row: `in` tests values
        if table == "articles":
            return _article_links(datasette, row["edition"], value)
        if table in _ARTICLE_TABLES:
            return _link(datasette.urls.row(DATABASE, "articles", f"{row['edition']},{value}"), value)
    return None


def _capture_link(datasette, capture_id: int):
    """A link to the capture row, reading `warc/FILE.warc.gz @ OFFSET` and the WARC-Record-ID."""

    async def render():
        result = await datasette.get_database(DATABASE).execute(
            "select warc_file, warc_offset, warc_record_id from captures where id = ?", [capture_id]
        )
        url = datasette.urls.row(DATABASE, "captures", str(capture_id))
        if not result.rows:
            return _link(url, capture_id)
        capture = result.rows[0]
        return Markup(
            f'<a href="{escape(url)}" class="zw-capture">{escape(capture["warc_file"])}'
            f" @ {capture['warc_offset']}</a><br><small>{escape(capture['warc_record_id'])}</small>"
        )

    return render


def _article_links(datasette, edition: str, article_id: int) -> Markup:
    """The article's id linking to its row, then links to its versions and observations."""
    keys = urlencode({"edition": edition, "article_id": article_id})
    return Markup(" · ").join(
        (
            _link(datasette.urls.row(DATABASE, "articles", f"{edition},{article_id}"), article_id),
            _link(f"{datasette.urls.table(DATABASE, 'article_versions')}?{keys}", "versions"),
            _link(f"{datasette.urls.table(DATABASE, 'observations')}?{keys}", "observations"),
        )
    )


def _link(url: str, text: object) -> Markup:
    return Markup(f'<a href="{escape(url)}">{escape(text)}</a>')


class _ValueFacet(Facet):
    """A facet computed by SQL of its own over the filtered articles, toggled by one query-string pair."""

    argument = ""  # the query-string name that selects a value
    order = "count desc, value"

    def value_sql(self) -> str:
        """SELECT of one `value` per (article, value) from the filtered articles in self.sql."""
        raise NotImplementedError

    async def suggest(self):
        return []

    async def facet_results(self):
        if not self.get_configs():
            return [], []
        size = self.get_facet_size()
        pairs = self.get_querystring_pairs()
        rows = (
            await self.ds.execute(
                self.database,
                f"select value, count(*) as count from ({self.value_sql()}) where value is not null"
                f" group by value order by {self.order} limit {size + 1}",
                self.params,
                truncate=False,
                custom_time_limit=self.ds.setting("facet_time_limit_ms"),
            )
        ).rows
        values = []
        for row in rows[:size]:
            pair = {self.argument: str(row["value"])}
            selected = (self.argument, str(row["value"])) in pairs
            path = (
                path_with_removed_args(self.request, pair)
                if selected
                else path_with_added_args(self.request, pair)
            )
            values.append(
                {
                    "value": row["value"],
                    "label": row["value"],
                    "count": row["count"],
                    "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(path)),
                    "selected": selected,
                }
            )
        facet = {
            "name": self.get_configs()[0]["config"]["simple"],  # shown as "NAME (TYPE)"
            "type": self.type,
            "hideable": False,
            "toggle_url": self.ds.urls.path(
                path_with_removed_args(self.request, {f"_facet_{self.type}": ""})
            ),
            "results": values,
            "truncated": len(rows) > size,
        }
        return [facet], []


class AuthorFacet(_ValueFacet):
    """Articles by author name, through article_authors; selecting one filters with ?_author=NAME."""

    type = "author"
    argument = "_author"

    def value_sql(self) -> str:
        return (
            f"select p.name as value from ({self.sql}) a join article_authors p"
            " on p.edition = a.edition and p.article_id = a.article_id"
        )


class MonthFacet(_ValueFacet):
    """Articles by month of publication (UTC), newest first; selecting one filters published__startswith."""

    type = "month"
    argument = "published__startswith"
    order = "value desc"

    def value_sql(self) -> str:
        return f"select substr(published, 1, 7) as value from ({self.sql})"
