"""A search query as the index needs it: Arabic spellings folded, the definite article made optional."""

from __future__ import annotations

import re

from zwcrawl.store.schema import fold_search_text

# The definite article and the one-letter words glued before it: و (and), ب (with), ف (so), ك (like).
_ARTICLE_FORMS = ("وال", "بال", "فال", "كال", "ال")
# ل + ال is written لل (للحجر): only added, never stripped, since لل also begins words of its own.
_ADDED_ONLY = ("لل",)
_ARABIC_WORD = re.compile(r"[\u0621-\u064a]+")
# Quotes, brackets, column filters, prefix stars, NEAR and the like: the user wrote FTS5 on purpose.
_FTS5_SYNTAX = re.compile(r'["()*:^{}+]|\bNEAR\b')
_OPERATORS = frozenset({"AND", "OR", "NOT"})
# A query is a few words or a phrase; a pasted page is not (1,500 words took 37 s before this cap).
MAX_QUERY_WORDS = 200


class SearchQueryError(ValueError):
    """A query that cannot be searched; the message says why in one line."""


def search_query(text: str) -> str:
    """Fold a query like the index, and let each bare Arabic word match with or without its article."""
    folded = fold_search_text(text).strip()
    words = folded.split()
    if len(words) > MAX_QUERY_WORDS:
        raise SearchQueryError(
            f"the query has {len(words):,} words; search with at most {MAX_QUERY_WORDS}, a phrase not a page"
        )
    if folded and not re.search(r"\w", folded):
        raise SearchQueryError(
            f"nothing to search for in {text.strip()!r}: give words, or a phrase in double quotes"
        )
    if _FTS5_SYNTAX.search(folded):
        return folded
    terms = [_with_or_without_article(word) for word in words]
    if _OPERATORS.isdisjoint(words):
        # Each term once: FTS5 weighs every repeat against every other, so a pasted paragraph (its common
        # words many times over) took time growing with the square of its length; AND of a term twice is it.
        terms = list(dict.fromkeys(terms))
    return " ".join(_with_and(terms))


def _with_and(terms: list[str]) -> list[str]:
    """AND between two terms side by side: FTS5 reads `(a OR b) (c OR d)` as a syntax error, not an AND."""
    joined: list[str] = []
    for term in terms:
        if joined and joined[-1] not in _OPERATORS and term not in _OPERATORS:
            joined.append("AND")
        joined.append(term)
    return joined


def _with_or_without_article(word: str) -> str:
    """حجر -> (حجر OR الحجر OR والحجر OR ...); any other word as it is."""
    if not _ARABIC_WORD.fullmatch(word):
        return word
    stem = word
    for form in _ARTICLE_FORMS:
        # A stem of two letters or fewer is a word of its own (الله, والي, بالغ), not article + noun.
        if word.startswith(form) and len(word) - len(form) >= 3:
            stem = word[len(form) :]
            break
    variants = [stem, *(form + stem for form in (*_ARTICLE_FORMS, *_ADDED_ONLY))]
    return "(" + " OR ".join(dict.fromkeys(variants)) + ")"


# A quoted phrase, or a run of anything else up to a space or a quote.
_PHRASE_OR_WORD = re.compile(r'("[^"]+")|([^\s"]+)')


def literal_search_query(text: str) -> str:
    """search_query for a search box (Datasette's): quoted phrases kept, every other word taken literally."""
    # Words are quoted so that al-Wasl, 50% or a stray bracket search as typed instead of being FTS5 syntax;
    # a bare Arabic word still matches with or without its article, as `zwcrawl search` does.
    parts = []
    for phrase, word in _PHRASE_OR_WORD.findall(fold_search_text(text)):
        if phrase:
            parts.append(phrase)
        elif _ARABIC_WORD.fullmatch(word):
            parts.append(_with_or_without_article(word))
        else:
            parts.append(f'"{word}"')
    # Explicit AND: FTS5 takes no implicit AND next to a bracketed group ("a" (b OR c) is a syntax error).
    return " AND ".join(parts)
