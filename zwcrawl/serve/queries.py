"""The canned queries `zwcrawl serve` offers: the questions researchers and archivists ask most."""

from __future__ import annotations

CANNED_QUERIES: dict[str, dict[str, str]] = {
    "article_counters": {
        "title": "One article's counters over time",
        "description": "Likes, dislikes and comments each time the archive fetched the article.",
        "sql": """select observed_at, likes, dislikes, comments_count, crawl_id, capture_id
from observations
where edition = :edition and article_id = :article_id
order by observed_at""",
    },
    "articles_per_month_by_edition": {
        "title": "Articles per month, by edition",
        "description": "How many archived articles were published each month (UTC), newest month first.",
        "sql": """select substr(published, 1, 7) as month,
  sum(edition = 'en') as en, sum(edition = 'ar') as ar, count(*) as total
from articles
where published is not null
group by month
order by month desc""",
    },
    "articles_per_month_by_source": {
        "title": "Articles per month, by source",
        "description": "How many articles each outlet was credited with, month by month.",
        "sql": """select substr(published, 1, 7) as month, coalesce(source, '(none)') as source,
  count(*) as articles
from articles
where published is not null
group by month, source
order by month desc, articles desc, source""",
    },
    "most_cited_sources": {
        "title": "Most-cited sources",
        "description": "Outlets named in the attribution, by the number of articles crediting them.",
        "sql": """select source, count(*) as articles, sum(edition = 'en') as en, sum(edition = 'ar') as ar,
  min(published) as first_published, max(published) as last_published
from articles
where source is not null
group by source
order by articles desc, source""",
    },
    "author_articles": {
        "title": "An author's articles",
        "description": "Every article that names this author (exactly as printed), newest first.",
        "sql": """select a.edition, a.article_id, a.published, a.headline, a.source, a.url
from article_authors p join articles a on a.edition = p.edition and a.article_id = p.article_id
where p.name = :author
order by a.published desc""",
    },
    "most_published_authors": {
        "title": "Most-published authors",
        "description": "Authors by the number of articles that name them.",
        "sql": """select name as author, count(*) as articles, min(a.published) as first_published,
  max(a.published) as last_published
from article_authors p join articles a on a.edition = p.edition and a.article_id = p.article_id
group by name
order by articles desc, name""",
    },
    "crawl_captured": {
        "title": "What one crawl captured",
        "description": "The pages a crawl fetched (responses, revisits) and where each is in the WARC files.",
        "sql": """select fetched_at, url, status, record_type, warc_file, warc_offset, warc_record_id,
  id as capture_id
from captures
where crawl_id = :crawl_id and record_type in ('response', 'revisit')
order by id""",
    },
    "crawl_failed": {
        "title": "What one crawl failed to fetch",
        "description": "The crawl's failure report: URLs that stayed failed, and why.",
        "sql": """select failed_at, url, reason, attempts, last_status
from failures
where crawl_id = :crawl_id
order by id""",
    },
}
