"""What a page declares about its article for machines: JSON-LD, meta tags, microdata, app-shell data."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from zwcrawl.extract.dates import parse_published, to_utc_iso
from zwcrawl.extract.markup import PageIndex, paragraphs, parse_html, text_of
from zwcrawl.extract.text import clean_text

# schema.org types of a news story; any type ending in "Article" counts (OpinionNewsArticle, BlogPosting ...).
_ARTICLE_TYPE = re.compile(r"(?:^|[/#:])(?:\w*Article|BlogPosting|Report)$")
# `window.__INITIAL_STATE__ = {...}`, `window.__APOLLO_STATE__=`, `self.__PRELOADED__ =`: an app shell's data.
_ASSIGNED_STATE = re.compile(
    r"(?:window|self|globalThis)\s*\.\s*(__\w+__|\w*(?:STATE|DATA|PROPS)\w*)\s*=\s*", re.I
)
# What follows the name, case-sensitive, for lower-case ASCII text (see _assignments).
_ASSIGNED_STATE_AFTER_NAME = re.compile(r"\s*\.\s*(__\w+__|\w*(?:state|data|props)\w*)\s*=\s*")
# Keys an app's article object uses, in the order they are tried.
_HEADLINE_KEYS = ("headline", "title", "name")
_BODY_KEYS = (
    "articleBody",
    "body",
    "bodyHtml",
    "body_html",
    "content",
    "contentHtml",
    "content_html",
    "html",
    "text",
)
_DATE_KEYS = (
    "datePublished", "publishedAt", "published_at", "publishDate", "publish_date", "published", "pubDate",
    "date", "createdAt", "created_at",
)  # fmt: skip
_AUTHOR_KEYS = ("authors", "author", "writers", "writer", "byAuthor")
_TRANSLATOR_KEYS = ("translators", "translator", "translatedBy")
_SECTION_KEYS = ("section", "category", "articleSection")
_IMAGE_KEYS = ("images", "image", "mainImage", "photo", "media")
_BYLINE_KEYS = ("byline", "source", "sourceName")
_LIKE_KEYS = ("likes", "likesCount", "like_count", "likeCount")
_DISLIKE_KEYS = ("dislikes", "dislikesCount", "dislike_count", "dislikeCount")
_COMMENTS_KEYS = ("comments", "comment")
_COMMENT_COUNT_KEYS = ("commentCount", "commentsCount", "comments_count", "totalComments")
_KINDS = {"opinion": "opinion", "opinionnewsarticle": "opinion", "perspective": "perspective"}
_MAX_NODES = 20000  # A walk of an app's state stops here: a shell may embed megabytes of unrelated data.


@dataclass
class Declared:
    """The article fields a page declares for machines, before any printed markup is read."""

    is_article: bool = False
    not_found: bool = False
    headline: str | None = None
    kind: str | None = None
    published: str | None = None
    body: list[str] = field(default_factory=list)
    section: str | None = None
    section_url: str | None = None
    section_id: int | None = None
    authors: list[str] = field(default_factory=list)
    translators: list[str] = field(default_factory=list)
    byline: str | None = None
    likes: int | None = None
    dislikes: int | None = None
    comments_count: int | None = None
    comments: list[dict] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)  # {"url": as declared (maybe relative), "caption"}
    # The social card (og:image): often a crop or another picture, so only an article's image of last resort.
    share_images: list[dict] = field(default_factory=list)

    def fill(self, other: Declared) -> None:
        """Take from another declaration whatever this one lacks (the earlier source wins)."""
        for name, value in vars(other).items():
            if _missing(getattr(self, name)) and not _missing(value):
                setattr(self, name, value)


def read_declared(root, article_id: int, index: PageIndex | None = None) -> Declared:
    """Everything the page declares: JSON-LD, then an app shell's data, then microdata, then meta tags.

    `index` is the page's PageIndex where the caller has one (its scripts, meta tags and items, found once).
    """
    declared = Declared()
    if root is None:
        return declared
    index = PageIndex(root) if index is None else index
    scripts = [s for s in index.scripts if s.get("src") is None and s.text and s.text.strip()]
    linked = [s for s in scripts if "ld+json" in (s.get("type") or "").lower()]
    for source in (_json_ld(linked), _app_data(scripts, article_id), _microdata(index), _meta(index)):
        declared.fill(source)
    return declared


# -- JSON-LD -----------------------------------------------------------------------------------------


def _json_ld(scripts: list) -> Declared:
    found = Declared()
    items = []
    for script in scripts:
        data = _loads(script.text)
        stack = [data]
        while stack:  # Top-level lists, @graph and nested mainEntity all hold items.
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            elif isinstance(node, dict):
                items.append(node)
                stack.extend(node[key] for key in ("@graph", "mainEntity") if key in node)
    for item in items:
        types = _types(item)
        if any(_ARTICLE_TYPE.search(t) for t in types):
            found.fill(_article_object(item, types))
        elif "BreadcrumbList" in types and not found.section_url:
            crumbs = [_as_dict(e) for e in _as_list(item.get("itemListElement"))]
            crumbs = sorted((c for c in crumbs if c), key=lambda c: _int(c.get("position")) or 0)
            if len(crumbs) > 1:  # Home first, the narrowest section last (the article itself may end it).
                named = [
                    (_text(c.get("name") or _as_dict(c.get("item")).get("name")), _url(c)) for c in crumbs
                ]
                sections = [(name, url) for name, url in named[1:] if url and "/news/articles/" in url]
                if sections:
                    found.section, found.section_url = sections[-1]
    return found


def _types(item: dict) -> list[str]:
    return [t for t in _as_list(item.get("@type")) if isinstance(t, str)]


def _article_object(item: dict, types: list[str]) -> Declared:
    """A schema.org Article (JSON-LD or an app object using its names) read into a declaration."""
    found = Declared(is_article=True)
    found.headline = _first_text(item, _HEADLINE_KEYS)
    found.kind = next((_KINDS[t.lower()] for t in types if t.lower() in _KINDS), None)
    found.published = _date(_first(item, _DATE_KEYS))
    found.body = _body(_first(item, _BODY_KEYS))
    section = _first(item, _SECTION_KEYS)
    if isinstance(section, dict):
        found.section = _text(section.get("name") or section.get("title"))
        found.section_url = _url(section)
        found.section_id = _int(section.get("id"))
    elif section is not None:
        found.section = _text(_as_list(section)[0] if _as_list(section) else None)
    found.authors = _names(_first(item, _AUTHOR_KEYS))
    found.translators = _names(_first(item, _TRANSLATOR_KEYS))
    found.byline = _first_text(item, _BYLINE_KEYS)
    found.images = _images(_first(item, _IMAGE_KEYS))
    for statistic in _as_list(item.get("interactionStatistic")):
        statistic = _as_dict(statistic)
        action = _text(
            _as_dict(statistic.get("interactionType")).get("@type") or statistic.get("interactionType")
        )
        count = _int(statistic.get("userInteractionCount"))
        if action and "Dislike" in action:
            found.dislikes = count
        elif action and "Like" in action:
            found.likes = count
        elif action and "Comment" in action:
            found.comments_count = count
    found.likes = found.likes if found.likes is not None else _int(_first(item, _LIKE_KEYS))
    found.dislikes = found.dislikes if found.dislikes is not None else _int(_first(item, _DISLIKE_KEYS))
    comments = _first(item, _COMMENTS_KEYS)
    found.comments = [c for c in (_comment(e) for e in _as_list(comments)) if c]
    count = _int(_first(item, _COMMENT_COUNT_KEYS))
    found.comments_count = count if count is not None else found.comments_count
    if found.comments_count is None and isinstance(comments, list):
        found.comments_count = len(found.comments)
    return found


def _comment(item) -> dict | None:
    item = _as_dict(item)
    text = _body(_first(item, ("text", "body", "content", "comment")))
    if not text:
        return None
    author = item.get("author") or item.get("name") or item.get("user")
    names = _names(author)
    return {
        "author": names[0] if names else None,
        "posted": _date(
            _first(item, ("dateCreated", "datePublished", "posted", "createdAt", "created_at", "date"))
        ),
        "text": " ".join(text),
    }


# -- an app shell's own data -------------------------------------------------------------------------


def _app_data(scripts: list, article_id: int) -> Declared:
    """The article object in the JSON an app shell embeds for its scripts (__NEXT_DATA__, window.__X__)."""
    blobs = []
    for script in scripts:
        kind = (script.get("type") or "").lower()
        text = script.text or ""
        if "ld+json" in kind:
            continue
        if "json" in kind:
            blobs.append(_loads(text))
        elif (not kind or "javascript" in kind) and (
            "window" in text or "self" in text or "globalThis" in text
        ):
            for end in _assignments(text):
                blobs.append(_raw_decode(text, end))
    found = Declared()
    best, best_score = None, 0
    for blob in blobs:
        for node in _walk(blob):
            if _says_not_found(node):
                found.not_found = True
            score = _article_score(node, article_id)
            if score > best_score:
                best, best_score = node, score
    if best is not None:
        found.fill(_article_object(best, [str(best.get("type") or best.get("kind") or "")]))
        found.not_found = False
    return found


def _assignments(text: str) -> list[int]:
    """Where the value of each `window.__STATE__ = ` of a script starts (the ends of _ASSIGNED_STATE)."""
    if not text.isascii():
        return [m.end() for m in _ASSIGNED_STATE.finditer(text)]
    # The same search on lower-case ASCII, where case is all IGNORECASE folds, tried only where one of the
    # three names starts (str.find, not the regex at every character): a tenth of its time.
    lower = text.lower()
    # The name assigned holds one of these (see _ASSIGNED_STATE_AFTER_NAME): a script without any assigns none
    # (an ad script's hundred `window.adSlots.push(...)` lines are not tried one by one).
    if not any(part in lower for part in ("__", "state", "data", "props")):
        return []
    starts = []
    for name in ("window", "self", "globalthis"):
        at = lower.find(name)
        while at >= 0:
            starts.append((at, len(name)))
            at = lower.find(name, at + 1)
    ends: list[int] = []
    for at, length in sorted(starts):
        if ends and at < ends[-1]:
            continue  # Inside the last match, where finditer does not look.
        m = _ASSIGNED_STATE_AFTER_NAME.match(lower, at + length)
        if m:
            ends.append(m.end())
    return ends


def _walk(data):
    """Every dict in a JSON value, breadth first, at most _MAX_NODES of them."""
    queue, seen = [data], 0
    while queue and seen < _MAX_NODES:
        node = queue.pop(0)
        seen += 1
        if isinstance(node, dict):
            yield node
            queue.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            queue.extend(v for v in node if isinstance(v, dict | list))


def _article_score(node: dict, article_id: int) -> int:
    """How surely a JSON object is this article: a headline and a body, better with this article's id."""
    headline = _first_text(node, _HEADLINE_KEYS)
    body = _first(node, _BODY_KEYS)
    if not headline or not isinstance(body, str | list) or len(json.dumps(body, ensure_ascii=False)) < 80:
        return 0
    score = 1
    for key in ("id", "articleId", "article_id", "newsId", "nid"):
        if str(node.get(key, "")).strip() == str(article_id):
            score += 10
    for key in ("url", "link", "canonical", "canonicalUrl", "slug", "path"):
        named = re.search(r"/news/article/(\d+)", str(node.get(key, "")))
        if named and int(named.group(1)) == article_id:
            score += 10
        elif named and score < 10:
            return 0  # Another article's object (a related story with its text): never this one's fields.
    return score


def _says_not_found(node: dict) -> bool:
    """Next.js and similar shells mark their not-found page in their data: page "/404", statusCode 404."""
    status = node.get("statusCode", node.get("status"))
    return (
        node.get("notFound") is True
        or _int(status) in (404, 410)
        or (isinstance(node.get("page"), str) and node["page"] in ("/404", "/_error", "/not-found"))
    )


# -- microdata and meta tags -------------------------------------------------------------------------


def _microdata(index: PageIndex) -> Declared:
    found = Declared()
    for scope in index.with_itemtype:
        if not re.search(r"Article|Posting", scope.get("itemtype")) or scope.get("itemscope") is None:
            continue
        props: dict[str, list] = {}
        for element in scope.xpath(".//*[@itemprop]"):
            owner = next((a for a in element.iterancestors() if a.get("itemscope") is not None), None)
            if owner is scope:
                for name in element.get("itemprop").split():
                    props.setdefault(name, []).append(element)
        item = Declared(is_article=True)
        item.kind = _KINDS.get(re.sub(r".*[/#]", "", scope.get("itemtype", "").split()[0]).lower())
        item.headline = _first_value(props.get("headline") or props.get("name"))
        item.published = _date(_first_value(props.get("datePublished")))
        body = (props.get("articleBody") or [None])[0]
        item.body = paragraphs(body) if body is not None else []
        section = (props.get("articleSection") or [None])[0]
        if section is not None and section.tag == "a":  # A link's value is its href; the name is printed.
            item.section, item.section_url = text_of(section) or None, section.get("href")
        elif section is not None:
            item.section = _value(section)
        for person in props.get("author", []):
            name = person.xpath('.//*[@itemprop="name"]') if person.get("itemscope") is not None else [person]
            item.authors += [n for n in (_value(e) for e in name) if n]
        for image in props.get("image", []):
            url = (
                _value(image)
                if image.get("itemscope") is None
                else _first_value(image.xpath('.//*[@itemprop="url" or @itemprop="contentUrl"]'))
            )
            if url:
                caption = (
                    _first_value(image.xpath('.//*[@itemprop="caption"]'))
                    if image.get("itemscope") is not None
                    else None
                )
                item.images.append({"url": url, "caption": caption})
        found.fill(item)
    return found


def _meta(index: PageIndex) -> Declared:
    tags: dict[str, str] = {}
    for element in index.metas:
        key, value = element.get("property") or element.get("name"), clean_text(element.get("content"))
        if key and value:
            tags.setdefault(key, value)

    def meta(*names: str) -> str | None:
        return next((tags[name] for name in names if name in tags), None)

    found = Declared()
    found.is_article = (meta("og:type") or "").lower() == "article"
    found.headline = meta("og:title", "twitter:title")
    found.published = _date(meta("article:published_time", "pubdate", "publishdate", "datePublished"))
    found.section = meta("article:section")
    author = meta("article:author", "author")
    found.authors = [author] if author and not re.match(r"https?:|//", author) else []
    image = meta("og:image", "twitter:image")
    found.share_images = [{"url": image, "caption": None}] if image else []
    return found


# -- values ------------------------------------------------------------------------------------------


def _missing(value) -> bool:
    """Nothing declared: None, False, "" or [] (a count of 0 is declared)."""
    return value is None or value is False or value == "" or value == []


def _loads(text: str | None):
    text = (text or "").strip()
    if text.startswith("<!--"):  # Old pages hide scripts in comments.
        text = text.removeprefix("<!--").removesuffix("-->").strip()
    try:
        return json.loads(text, strict=False)
    except ValueError:
        return None


def _raw_decode(text: str, start: int):
    try:
        return json.JSONDecoder(strict=False).raw_decode(text, start)[0]
    except ValueError:
        return None


def _as_list(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _first(item: dict, keys: tuple[str, ...]):
    for key in keys:
        value = item.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _text(value) -> str | None:
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("text")
    return clean_text(value) or None if isinstance(value, str) else None


def _first_text(item: dict, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if text := _text(item.get(key)):
            return text
    return None


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _url(item: dict) -> str | None:
    for value in (item.get("item"), item.get("url"), item.get("@id"), item.get("href"), item.get("link")):
        if isinstance(value, dict):
            value = value.get("@id") or value.get("url")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _date(value) -> str | None:
    """A declared time: ISO-8601 text (naive means Damascus local), or epoch seconds or milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        seconds = value / 1000 if value > 10**11 else value
        return to_utc_iso(datetime.fromtimestamp(seconds, UTC))
    return parse_published(value) if isinstance(value, str) else None


def _body(value) -> list[str]:
    """Paragraphs of a declared body: HTML, plain text (blank lines, else newlines, part them), or blocks."""
    if isinstance(value, list):  # Rich-text blocks: strings, or {"type": "paragraph", "text"/"html": ...}.
        out = []
        for block in value:
            if isinstance(block, dict):
                block = _first(block, ("html", "text", "content", "value"))
            out += _body(block) if isinstance(block, str | list) else []
        return out
    if isinstance(value, dict):
        return _body(_first(value, ("html", "text", "content", "value")))
    if not isinstance(value, str) or not value.strip():
        return []
    if re.search(r"<(?:p|br|div|h\d)\b", value, re.I):
        root = parse_html(f"<html><body><div>{value}</div></body></html>")
        return paragraphs(root.xpath("//body/div")[0]) if root is not None else []
    parts = re.split(r"\n\s*\n" if re.search(r"\n\s*\n", value) else r"\n", value)
    return [text for text in (clean_text(p) for p in parts) if text]


def _names(value) -> list[str]:
    """Names of declared people: strings, {"name": ...} objects, or lists of them (organisations too)."""
    names = []
    for entry in _as_list(value):
        if isinstance(entry, dict):
            entry = entry.get("name") or entry.get("fullName") or entry.get("title")
        if isinstance(entry, str) and (text := clean_text(entry)) and not re.match(r"https?:|//", text):
            names.append(text)
    return names


def _images(value) -> list[dict]:
    images = []
    for entry in _as_list(value):
        if isinstance(entry, str):
            url, caption = entry, None
        elif isinstance(entry, dict):
            url = entry.get("url") or entry.get("contentUrl") or entry.get("src") or entry.get("@id")
            caption = _text(entry.get("caption") or entry.get("alt") or entry.get("description"))
        else:
            continue
        if isinstance(url, str) and url.strip():
            images.append({"url": url.strip(), "caption": caption})
    return images


def _value(element) -> str | None:
    """The value of a microdata property: content, datetime, src or href before the printed text."""
    for attribute in ("content", "datetime", "src", "href"):
        if (value := element.get(attribute)) and value.strip():
            return value.strip()
    return text_of(element) or None


def _first_value(elements) -> str | None:
    for element in elements or ():
        if value := _value(element):
            return value
    return None
