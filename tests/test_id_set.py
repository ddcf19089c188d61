"""IdSet: the spider's set of article ids, a bit each."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=200, deadline=None)
@given(
    added=st.lists(st.integers(min_value=-(2**30), max_value=2**30) | st.integers(0, 2000)),
    asked=st.lists(st.integers(min_value=-(2**30), max_value=2**30) | st.integers(0, 2000)),
)
def test_an_id_set_answers_as_a_set_of_the_same_ids_would(added, asked):
    ids, same = IdSet(added[: len(added) // 2]), set(added[: len(added) // 2])
    for article_id in added[len(added) // 2 :]:
        ids.add(article_id)
        same.add(article_id)
    assert [article_id in ids for article_id in asked + added] == [a in same for a in asked + added]
