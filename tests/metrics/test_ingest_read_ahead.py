"""The import's read-ahead thread (metrics.ledger.ingest.read_ahead): order, errors, early exit."""

import threading
from collections.abc import Iterator

import pytest

from metrics.ledger.ingest import read_ahead


def test_items_arrive_in_order_from_another_thread():
    seen_threads = set()

    def items() -> Iterator[int]:
        for i in range(50):
            seen_threads.add(threading.current_thread().name)
            yield i

    with read_ahead(items(), depth=2) as chunks:
        assert list(chunks) == list(range(50))
    assert seen_threads == {"ingest-read-ahead"}


def test_an_error_while_producing_is_raised_to_the_consumer_after_the_items_before_it():
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("row 3 is bad")

    got = []
    with pytest.raises(ValueError, match="row 3 is bad"), read_ahead(items()) as chunks:
        for item in chunks:
            got.append(item)
    assert got == [1, 2]


def test_leaving_early_stops_the_producer_and_closes_the_generator():
    produced = []
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            for i in range(1000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    with pytest.raises(RuntimeError), read_ahead(items(), depth=1) as chunks:
        for item in chunks:
            if item == 3:
                raise RuntimeError("the database refused chunk 3")
    assert closed.is_set()
    assert len(produced) <= 6  # at most depth + the one in hand ahead of the consumer
    assert not any(t.name == "ingest-read-ahead" for t in threading.enumerate())


def test_first_chunks_are_smaller_so_the_write_starts_sooner():
    from metrics.ledger.sources.csv_reader import _gathered

    class Batch:
        num_rows = 1
        nbytes = 1

    sizes = [len(chunk) for chunk in _gathered([Batch()] * 300, 64)]
    # from a 32nd of the size, each half as large again, so that the next one is ready
    # before the database has written the one before it; nothing lost at the end
    assert sizes == [2, 4, 7, 11, 17, 26, 40, 61, 64, 64, 4]
    assert sum(sizes) == 300
