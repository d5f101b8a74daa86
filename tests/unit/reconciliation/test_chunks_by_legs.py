import pytest

from app.reconciliation.sweep import chunks_by_legs


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        ({1: 1, 2: 1, 3: 1}, [[1, 2, 3]]),
        ({1: 2, 2: 2, 3: 2}, [[1, 2], [3]]),
        ({1: 9, 2: 1, 3: 1}, [[1], [2, 3]]),  # bigger than a chunk: alone
        ({1: 1, 2: 9, 3: 1}, [[1], [2], [3]]),
        ({1: 0, 2: 4, 3: 0}, [[1, 2, 3]]),  # an order without legs costs nothing
    ],
)
def test_orders_are_cut_into_runs_of_at_most_max_legs_in_their_order(sizes, expected):
    assert chunks_by_legs(list(sizes), sizes, max_legs=4) == expected


def test_no_orders_make_no_chunks():
    assert chunks_by_legs([], {}, max_legs=4) == []
