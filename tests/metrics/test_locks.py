"""The one lock helper (metrics.ledger.locks): a lock is released only by the run that holds
it, and the transaction-scoped locks live exactly as long as their transaction."""

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from metrics.ledger.locks import LEDGER_LOCK_KEY, job_lock, ledger_lock, lock_key, xact_lock


def test_a_job_lock_that_ran_out_and_was_taken_over_is_not_released_by_its_first_holder(db):
    key = "metrics:lock:nightly"
    first = job_lock("nightly", 60)
    assert first.__enter__()
    cache.delete(key)  # the first run outlived its lock: the entry expired
    second = job_lock("nightly", 60)
    assert second.__enter__()  # another run takes it
    taken = cache.get(key)
    first.__exit__(None, None, None)  # the first run ends
    assert cache.get(key) == taken  # ...and leaves the second run's lock alone
    with job_lock("nightly", 60) as third:
        assert not third  # still held: a third run skips
    second.__exit__(None, None, None)
    assert cache.get(key) is None  # the holder releases its own lock


def test_a_job_lock_is_released_when_its_run_fails(db):
    with pytest.raises(ZeroDivisionError), job_lock("failing", 60) as mine:
        assert mine
        1 / 0
    with job_lock("failing", 60) as again:
        assert again


def test_transaction_locks_refuse_to_run_outside_a_transaction(transactional_db):
    # autocommit would release an advisory transaction lock as soon as it is taken
    for take in (lambda: xact_lock("anything"), ledger_lock):
        with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
            take()
    with transaction.atomic():
        xact_lock("anything")  # fine inside


def test_lock_keys_are_stable_distinct_and_bigint():
    assert lock_key("nudge:person:U1") == lock_key("nudge:person:U1")
    keys = {lock_key(f"nudge:person:U{i}") for i in range(1000)} | {LEDGER_LOCK_KEY}
    assert len(keys) == 1001
    assert all(-(2**63) <= k < 2**63 for k in keys)


def advisory_keys() -> set[int]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
            "WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 1"
        )
        return {row[0] for row in cur.fetchall()}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks: PostgreSQL")
def test_named_and_ledger_locks_are_held_for_the_transaction(transactional_db):
    with transaction.atomic():
        xact_lock("nudge:team:1")
        ledger_lock()
        held = advisory_keys()
        assert lock_key("nudge:team:1") in held
        assert LEDGER_LOCK_KEY in held
    assert advisory_keys() == set()  # COMMIT released both; nothing to release by hand
