"""IdSet: a set of article ids at one bit each, so what a crawl remembers stays flat as the site grows."""

from __future__ import annotations

from collections.abc import Iterable

# Ids below this take one bit of a bytearray grown to the largest id seen (2 MB at most: 16.7 million ids);
# any above it (no article has one; a hand-made link may) go to a plain set.
_BITMAP_IDS = 1 << 24


class IdSet:
    """Ids of one edition's articles (a crawl's scheduled ones, a section's seen ones): `in`, add, update.

    A set of ints costs about 60 bytes an id (the int object and its slot): 15 MB for the site's 250,000
    articles, and 300 MB for an `--ids 1-5000000` range. A bit an id costs 31 KB and 625 KB.
    """

    __slots__ = ("_bits", "_others")

    def __init__(self, ids: Iterable[int] = ()):
        self._bits = bytearray()
        self._others: set[int] = set()
        self.update(ids)

    def __contains__(self, article_id: int) -> bool:
        if 0 <= article_id < _BITMAP_IDS:
            byte = article_id >> 3
            return byte < len(self._bits) and bool(self._bits[byte] >> (article_id & 7) & 1)
        return article_id in self._others

    def add(self, article_id: int) -> None:
        """Add one id."""
        if 0 <= article_id < _BITMAP_IDS:
            byte = article_id >> 3
            if byte >= len(self._bits):
                self._bits.extend(bytes(byte + 1 - len(self._bits)))
            self._bits[byte] |= 1 << (article_id & 7)
        else:
            self._others.add(article_id)

    def update(self, ids: Iterable[int]) -> None:
        """Add every id of ids."""
        for article_id in ids:
            self.add(article_id)
