"""Webhook HTTP delivery on aiohttp: signing, the retry policy and the POST loop.

Every attempt is one ``POST`` of the same JSON body, with these headers (besides the rule's own):

- ``Content-Type: application/json``
- ``X-Orchestrator-Event-Id``: the event whose rule called the webhook
- ``X-Orchestrator-Delivery``: the id of this webhook call; the same on every retry and redelivery, so a
  receiver deduplicates on it
- ``X-Orchestrator-Timestamp``: unix seconds when this attempt was made
- ``X-Orchestrator-Signature: sha256=<hex>``: HMAC-SHA256, keyed with the secret, over the bytes
  ``<timestamp>.<raw body>`` (the timestamp header's value, a dot, then the body exactly as received)

A receiver verifies with :func:`verify`, or in any language: recompute the HMAC over the timestamp, ``.`` and
the raw body it received, compare it with the header in constant time, and refuse timestamps older than a few
minutes (replays). Signing the timestamp binds it to the body, so an old signed request cannot be replayed
later with a fresh timestamp.

Retries: a connection error, a timeout, 408, 429 and any 5xx are retried with exponential backoff and jitter
(``base * 2**(n-1)``, scaled by a random factor in [0.5, 1), capped), honouring ``Retry-After`` (seconds or an
HTTP date) when the server sends one; a ``Retry-After`` beyond the cap ends the retries rather than being cut
short. Any other status is final: 2xx is success, 3xx is not followed (signed requests stay with the URL the
workflow names), other 4xx are refused for good.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus

import aiohttp

SIGNATURE_PREFIX = "sha256="
RETRYABLE_STATUSES = frozenset({408, 429})
EXCERPT_CHARS = 200
USER_AGENT = "orchestrator-webhooks/1"


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Orchestrator-Signature`` value: ``sha256=`` + hex HMAC-SHA256 over ``<timestamp>.<body>``."""
    digest = hmac.new(secret.encode(), b"%s.%s" % (str(timestamp).encode(), body), hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None,
           tolerance_s: float = 300.0) -> bool:
    """What a receiver does: the signature matches (constant-time) and the timestamp is recent."""
    try:
        age = (time.time() if now is None else now) - int(timestamp)
    except ValueError:
        return False
    return abs(age) <= tolerance_s and hmac.compare_digest(sign(secret, timestamp, body), signature)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when: float = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - now)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base_s: float = 0.5
    max_delay_s: float = 60.0

    @staticmethod
    def retryable(status: int | None) -> bool:
        """No response (connection error, timeout), 408, 429 or 5xx."""
        return status is None or status in RETRYABLE_STATUSES or status >= 500

    def delay(self, attempt: int, retry_after: float | None = None, rand: float = 0.5) -> float | None:
        """Seconds to wait after failed attempt ``attempt`` (1-based), ``rand`` in [0, 1) being the jitter;
        None when no attempt is left or the server asks for a wait beyond ``max_delay_s``."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None and retry_after > self.max_delay_s:
            return None
        backoff = min(self.max_delay_s, self.base_s * 2.0 ** (attempt - 1) * (0.5 + rand / 2))
        return backoff if retry_after is None else max(retry_after, backoff)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One POST: the response status (None when there was none) and what to say about it."""

    status: int | None
    detail: str
    transient: bool  # worth retrying (the policy may still say no)
    retry_after: float | None = None
    excerpt: str = ""  # the start of a failed response's body

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class Delivery:
    """A webhook call's outcome, after every attempt it took (0 when it was never sent)."""

    url: str
    attempts: int
    last: Attempt
    elapsed_s: float = 0.0
    gave_up: str = field(default="")  # why the retries stopped, when they did

    @property
    def ok(self) -> bool:
        return self.last.ok

    def describe(self) -> str:
        took = f"({self.elapsed_s * 1000:.0f} ms)" if self.elapsed_s < 10 else f"({self.elapsed_s:.1f} s)"
        if self.attempts == 0:
            return f"POST {self.url} not sent: {self.last.detail}"
        if self.ok:
            plural = "s" if self.attempts != 1 else ""
            return f"POST {self.url} → {self.last.detail} after {self.attempts} attempt{plural} {took}"
        if self.gave_up:
            return f"POST {self.url} → {self.gave_up}: {self.last.detail} {took}"
        return f"POST {self.url} → {self.last.detail}, not retried {took}"


def not_sent(url: str, reason: str) -> Delivery:
    return Delivery(url, 0, Attempt(None, reason, transient=False))


def _status_text(status: int, reason: str | None) -> str:
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    return f"{status} {reason}".strip()


def _failure(exc: BaseException, timeout_s: float) -> Attempt:
    if isinstance(exc, aiohttp.InvalidURL):
        return Attempt(None, f"invalid URL: {exc}", transient=False)
    if isinstance(exc, ValueError):  # a header aiohttp refuses to write, for one
        return Attempt(None, f"cannot send: {exc}", transient=False)
    if isinstance(exc, TimeoutError):
        return Attempt(None, f"no response within {timeout_s:g} s", transient=True)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return Attempt(None, f"cannot connect to {exc.host}:{exc.port} ({exc.os_error.strerror or exc})",
                       transient=True)
    return Attempt(None, f"{type(exc).__name__}: {exc}".rstrip(": "), transient=True)


class WebhookSender:
    """POSTs with retries over one ``aiohttp.ClientSession`` per worker (opened by :meth:`start`)."""

    def __init__(self, policy: RetryPolicy, timeout_s: float = 5.0, *, connections: int = 16,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rand: Callable[[], float] = random.random) -> None:
        self.policy = policy
        self.timeout_s = timeout_s
        self.connections = connections
        self._sleep = sleep
        self._rand = rand
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the session; made here because aiohttp binds it to the running loop."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                connector=aiohttp.TCPConnector(limit=self.connections),
                headers={"User-Agent": USER_AGENT},
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def deliver(self, url: str, body: bytes, headers: Mapping[str, str], secret: str) -> Delivery:
        """POST until success, a final answer, or the policy says stop; each attempt signed afresh."""
        started = time.monotonic()
        attempt, n = Attempt(None, "not attempted", transient=False), 0
        while True:
            n += 1
            attempt = await self.attempt(url, body, headers, secret)
            if attempt.ok or not attempt.transient:
                return Delivery(url, n, attempt, time.monotonic() - started)
            wait = self.policy.delay(n, attempt.retry_after, self._rand())
            if wait is None:
                return Delivery(url, n, attempt, time.monotonic() - started, self._gave_up(n, attempt))
            await self._sleep(wait)

    def _gave_up(self, attempts: int, attempt: Attempt) -> str:
        plural = "s" if attempts != 1 else ""
        if attempts < self.policy.max_attempts and attempt.retry_after is not None:
            return (f"gave up after {attempts} attempt{plural} (Retry-After {attempt.retry_after:g} s is beyond "
                    f"the {self.policy.max_delay_s:g} s this worker waits)")
        return f"gave up after {attempts} attempt{plural}"

    async def attempt(self, url: str, body: bytes, headers: Mapping[str, str], secret: str) -> Attempt:
        """One signed POST; never raises for what the network or the server does."""
        if self._session is None:
            raise RuntimeError("WebhookSender.attempt before start()")
        timestamp = str(int(time.time()))
        signed = {**headers, "X-Orchestrator-Timestamp": timestamp,
                  "X-Orchestrator-Signature": sign(secret, timestamp, body)}
        try:
            async with self._session.post(url, data=body, headers=signed, allow_redirects=False) as response:
                return await self._answer(response)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return _failure(exc, self.timeout_s)

    async def _answer(self, response: aiohttp.ClientResponse) -> Attempt:
        status = response.status
        detail = _status_text(status, response.reason)
        if 200 <= status < 300:
            return Attempt(status, detail, transient=False)
        excerpt = (await response.content.read(EXCERPT_CHARS)).decode("utf-8", "replace")
        if 300 <= status < 400:
            detail += f" (redirects are not followed; Location: {response.headers.get('Location', '-')})"
        retry_after = parse_retry_after(response.headers.get("Retry-After"), time.time())
        return Attempt(status, detail, self.policy.retryable(status), retry_after, excerpt)
