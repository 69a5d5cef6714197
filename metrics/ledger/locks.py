"""The one lock helper of the ledger and its jobs.

- `ledger_lock()`: serializes writers of the ledger and its rollups (imports, re-allocation,
  re-pricing). On PostgreSQL a transaction-scoped advisory lock (`pg_advisory_xact_lock`):
  taken inside `transaction.atomic()`, released by COMMIT or ROLLBACK, including when the
  process dies (the server ends its session), so it can never be released by someone else.
  On SQLite there is nothing to take: its write transactions (`BEGIN IMMEDIATE`) already
  admit one writer at a time.
- `job_lock(name, seconds)`: "never two runs at once" for periodic jobs and provider pulls, in
  the shared cache (Redis or the database cache; never process memory). It holds a random
  token, expires after `seconds` even if its holder dies, and is released only by the run
  that holds that token (atomically on Redis; on the database cache by reading it back first).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, transaction

logger = logging.getLogger(__name__)

LEDGER_LOCK_KEY = 7_202_611  # the pg advisory lock key every ledger writer takes

_RELEASE_LUA = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def ledger_lock() -> None:
    """Take the ledger write lock for the rest of the current transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger_lock() must be called inside transaction.atomic()")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK_KEY])


@contextmanager
def job_lock(name: str, seconds: int) -> Iterator[bool]:
    """Yield True when this run holds the lock `name`, False when another run does."""
    key = f"metrics:lock:{name}"
    token = uuid.uuid4().hex
    if not cache.add(key, token, timeout=seconds):
        logger.info("another run holds the lock %r: skipping this run", key)
        yield False
        return
    try:
        yield True
    finally:
        release(key, token)


def release(key: str, token: str) -> bool:
    """Delete `key` only if it still holds `token`; True when it did."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache  # RedisCacheClient: its serializer and a write connection
        full_key = backend.make_and_validate_key(key)
        value = client._serializer.dumps(token)  # type: ignore[attr-defined]
        return bool(client.get_client(write=True).eval(_RELEASE_LUA, 1, full_key, value))
    if backend.get(key) == token:
        backend.delete(key)
        return True
    return False
