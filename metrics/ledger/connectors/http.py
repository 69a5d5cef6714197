"""The one HTTP client the provider connectors share: auth headers, pagination, retries.

Transport rules, in one place:
- every request has a timeout (connect, read);
- 429 waits for Retry-After (seconds or an HTTP date), capped, else the backoff;
- 5xx, timeouts and connection errors are retried with exponential backoff, a bounded number
  of times, then fail with a ProviderError naming the URL and the last status;
- other 4xx (bad key, bad parameter) fail at once: retrying cannot fix them;
- pagination follows `has_more` / `next_page`, passing the cursor back as `page`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urljoin

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

logger = logging.getLogger(__name__)

Params = Sequence[tuple[str, str]]  # repeated keys allowed: group_by=model&group_by=project_id

TIMEOUT = (10.0, 60.0)  # seconds: connect, read
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 2.0  # 2, 4, 8, 16 between the five attempts
MAX_WAIT_SECONDS = 60.0  # cap for Retry-After and backoff
MAX_PAGES = 500  # a cursor that never ends is a provider bug, not a reason to loop forever


class ProviderError(Exception):
    """A provider API request that failed for good (after retries where retrying helps)."""


class _Retryable(Exception):
    """A failure that asking again can fix: 429, 5xx, a timeout, a lost connection."""

    def __init__(self, problem: str, *, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.retry_after = retry_after


class ProviderClient:
    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        timeout: float | tuple[float, float] = TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: float = BACKOFF_SECONDS,
        max_wait: float = MAX_WAIT_SECONDS,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.headers = {"Accept": "application/json", **headers}
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_wait = max_wait
        self.session = session or requests.Session()
        # time.sleep looked up now, not when the module loaded (tests patch it)
        self.sleep = sleep or time.sleep

    def url(self, path: str, params: Params = ()) -> str:
        query = urlencode(list(params))
        return urljoin(self.base_url, path) + (f"?{query}" if query else "")

    def get(self, path: str, params: Params = ()) -> bytes:
        """GET one resource; the body's bytes as received. Retried by tenacity: up to
        `max_attempts`, waiting Retry-After (429) or the exponential backoff between them."""
        url = self.url(path, params)
        backoff = wait_exponential(multiplier=self.backoff, max=self.max_wait)

        def wait(state: RetryCallState) -> float:
            failure = state.outcome.exception() if state.outcome else None
            if isinstance(failure, _Retryable) and failure.retry_after is not None:
                return failure.retry_after
            return float(backoff(state))

        def log(state: RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            wait_seconds = state.next_action.sleep if state.next_action else 0.0
            logger.warning(
                "GET %s: %s; retry %d/%d in %.1fs",
                url,
                failure,
                state.attempt_number,
                self.max_attempts - 1,
                wait_seconds,
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self.sleep,
            before_sleep=log,
            reraise=True,
        )
        try:
            return retrying(self._get_once, url)
        except _Retryable as exc:
            raise ProviderError(
                f"GET {url} failed after {self.max_attempts} attempts: {exc}"
            ) from exc

    def _get_once(self, url: str) -> bytes:
        """One GET: the body, a _Retryable failure (429, 5xx, timeout, connection) or a
        ProviderError (any other status: retrying cannot fix it)."""
        try:
            response = self.session.get(url, headers=self.headers, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 200:
            return response.content
        problem = f"HTTP {status} {response.reason}: {_snippet(response)}"
        if status == 429:
            raise _Retryable(problem, retry_after=_retry_after(response, cap=self.max_wait))
        if status < 500:
            hint = " (check the admin API key)" if status in (401, 403) else ""
            raise ProviderError(f"GET {url} failed: {problem}{hint}")
        raise _Retryable(problem)

    def pages(self, path: str, params: Params = ()) -> Iterator[bytes]:
        """Every page of a paginated list, following `has_more` / `next_page`."""
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page_params = [*params, ("page", cursor)] if cursor else list(params)
            body = self.get(path, page_params)
            try:
                page: Any = json.loads(body)
            except ValueError as exc:
                url = self.url(path, page_params)
                raise ProviderError(f"GET {url} answered something that is not JSON") from exc
            yield body
            if not isinstance(page, dict) or not page.get("has_more"):
                return
            cursor = page.get("next_page")
            if not cursor or cursor in seen:
                raise ProviderError(
                    f"GET {self.url(path, page_params)}: has_more without a new next_page cursor"
                )
            seen.add(cursor)
        raise ProviderError(f"GET {self.url(path, params)}: more than {MAX_PAGES} pages")


def _snippet(response: requests.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:300] or "(empty body)"


def _retry_after(response: requests.Response, *, cap: float) -> float | None:
    """Seconds to wait from Retry-After (delta-seconds or HTTP date), capped; None when the
    header is missing or unreadable (then the backoff applies)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), cap)
