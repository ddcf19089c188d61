"""IdSet: the spider's set of article ids, a bit each."""

from __future__ import annotations

from zwcrawl.id_set import IdSet


def test_ids_in_and_out_as_a_set_holds_them():
    ids = IdSet([87640, 34486, 0, 7, 8])
    ids.add(2**24 + 5)  # beyond the bitmap: kept all the same
    ids.add(-3)  # never an article's id, but a set would keep it
    for held in (87640, 34486, 0, 7, 8, 2**24 + 5, -3):
        assert held in ids
    for absent in (1, 6, 9, 87639, 87641, 10**9, 2**24 + 4, -1):
        assert absent not in ids
    ids.update([1, 87641])
    assert 1 in ids and 87641 in ids and 2 not in ids
