"""The one lock helper of the project: the ledger, its jobs and the bot's.

- `xact_lock(name)`: a named lock for the rest of the current transaction. On PostgreSQL a
  transaction-scoped advisory lock (`pg_advisory_xact_lock`): taken inside
  `transaction.atomic()`, released by COMMIT or ROLLBACK, including when the process dies
  (the server ends its session), so it can never be released by someone else. On SQLite
  there is nothing to take: its write transactions (`BEGIN IMMEDIATE`) already admit one
  writer at a time. The bot's nudge decisions take one per team and per person.
- `ledger_lock()`: the `xact_lock` that serializes writers of the ledger and its rollups
  (imports, re-allocation, re-pricing).
- `job_lock(name, seconds)`: "never two runs at once" for periodic jobs (the ledger's and the
  bot's) and provider pulls, in the shared cache (Redis or the database cache; never process
  memory). It holds a random token, expires after `seconds` even if its holder dies, and is
  released only by the run that holds that token, atomically (a Lua script on Redis, a
  conditional DELETE on the database cache).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import pickle
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connection, connections, router, transaction

logger = logging.getLogger(__name__)

LEDGER_LOCK_KEY = 7_202_611  # the pg advisory lock key every ledger writer takes

_RELEASE_LUA = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def ledger_lock() -> None:
    """Take the ledger write lock for the rest of the current transaction."""
    _advisory_xact_lock(LEDGER_LOCK_KEY, "ledger_lock()")


def xact_lock(name: str) -> None:
    """Take the lock `name` for the rest of the current transaction (waits for its holder)."""
    _advisory_xact_lock(lock_key(name), f"xact_lock({name!r})")


def lock_key(name: str) -> int:
    """The advisory lock key of `name`: a signed 64-bit hash (PostgreSQL's bigint)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8, person=b"finops-lock").digest()
    return int.from_bytes(digest, "big", signed=True)


def _advisory_xact_lock(key: int, what: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        # Outside a transaction PostgreSQL would release it at once (autocommit).
        raise RuntimeError(f"{what} must be called inside transaction.atomic()")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [key])


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
    if isinstance(backend, DatabaseCache):
        return _release_in_table(backend, key, token)
    if backend.get(key) == token:  # other backends (tests' locmem): not atomic
        backend.delete(key)
        return True
    return False


def _release_in_table(backend: DatabaseCache, key: str, token: str) -> bool:
    """One DELETE that matches the token too, so a lock taken over by another run (after
    ours expired) stays. The value is stored as Django's DatabaseCache writes it."""
    db = router.db_for_write(backend.cache_model_class)
    conn = connections[db]
    quote = conn.ops.quote_name
    value = base64.b64encode(pickle.dumps(token, backend.pickle_protocol)).decode("latin1")
    table = quote(backend._table)  # type: ignore[attr-defined]
    sql = f"DELETE FROM {table} WHERE {quote('cache_key')} = %s AND {quote('value')} = %s"  # noqa: S608 - quoted names only
    with conn.cursor() as cur:
        cur.execute(sql, [backend.make_and_validate_key(key), value])
        return bool(cur.rowcount)
