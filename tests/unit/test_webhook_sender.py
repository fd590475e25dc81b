"""The pure parts of webhook delivery: the signature scheme, Retry-After and the retry policy."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from orchestrator.adapters.webhook_sender import (
    Attempt,
    Delivery,
    RetryPolicy,
    not_sent,
    parse_retry_after,
    sign,
    verify,
)

BODY = b'{"entity":{"entityRef":"O-1","status":"BOOKED"}}'
NOW = 1_800_000_000


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(b"s3cret", b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert sign("s3cret", NOW, BODY) == f"sha256={expected}"
    assert sign("s3cret", str(NOW), BODY) == sign("s3cret", NOW, BODY)


def test_signature_binds_secret_timestamp_and_every_body_byte() -> None:
    reference = sign("s3cret", NOW, BODY)
    assert sign("other", NOW, BODY) != reference
    assert sign("s3cret", NOW + 1, BODY) != reference
    assert sign("s3cret", NOW, BODY + b" ") != reference


def test_receiver_verifies_a_fresh_signature_and_refuses_tampering_and_replays() -> None:
    signature = sign("s3cret", NOW, BODY)
    assert verify("s3cret", str(NOW), BODY, signature, now=NOW + 10)
    assert not verify("s3cret", str(NOW), BODY.replace(b"BOOKED", b"PAID"), signature, now=NOW)
    assert not verify("wrong", str(NOW), BODY, signature, now=NOW)
    assert not verify("s3cret", str(NOW), BODY, signature, now=NOW + 301), "older than the tolerance: a replay"
    assert not verify("s3cret", str(NOW + 1), BODY, signature, now=NOW), "timestamp swapped for another"
    assert not verify("s3cret", "yesterday", BODY, signature, now=NOW)


@pytest.mark.parametrize(("status", "retry"), [
    (None, True), (408, True), (429, True), (500, True), (502, True), (503, True), (599, True),
    (400, False), (401, False), (403, False), (404, False), (409, False), (410, False), (422, False),
    (301, False), (200, False),
])
def test_which_answers_are_retried(status: int | None, retry: bool) -> None:
    assert RetryPolicy.retryable(status) is retry


def test_backoff_doubles_with_jitter_between_half_and_all_of_it() -> None:
    policy = RetryPolicy(max_attempts=6, base_s=0.5, max_delay_s=60)
    lowest = [policy.delay(n, rand=0.0) for n in range(1, 6)]
    highest = [policy.delay(n, rand=0.999999) for n in range(1, 6)]
    assert lowest == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert highest == pytest.approx([0.5, 1.0, 2.0, 4.0, 8.0], rel=1e-5)


def test_backoff_is_capped_and_attempts_are_bounded() -> None:
    policy = RetryPolicy(max_attempts=20, base_s=1, max_delay_s=30)
    assert policy.delay(10, rand=0.0) == 30
    assert policy.delay(19) is not None
    assert policy.delay(20) is None, "the 20th attempt was the last"
    assert RetryPolicy(max_attempts=1).delay(1) is None, "one attempt: never retried"


def test_retry_after_is_honoured_and_never_cut_short() -> None:
    policy = RetryPolicy(max_attempts=6, base_s=0.5, max_delay_s=60)
    assert policy.delay(1, retry_after=7, rand=0.0) == 7
    assert policy.delay(4, retry_after=0, rand=0.0) == 2.0, "a shorter Retry-After does not skip the backoff"
    assert policy.delay(1, retry_after=60) == 60
    assert policy.delay(1, retry_after=61) is None, "longer than we wait: stop rather than retry early"
    assert policy.delay(6, retry_after=1) is None


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2027, 1, 15, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2027, 1, 15, 12, 0, 30, tzinfo=UTC), usegmt=True)
    earlier = format_datetime(datetime(2027, 1, 15, 11, 0, 0, tzinfo=UTC), usegmt=True)
    assert parse_retry_after("120", now.timestamp()) == 120
    assert parse_retry_after(" 0 ", now.timestamp()) == 0
    assert parse_retry_after(later, now.timestamp()) == 30
    assert parse_retry_after(earlier, now.timestamp()) == 0
    for unreadable in (None, "", "soon", "-5", "1.5"):
        assert parse_retry_after(unreadable, now.timestamp()) is None, unreadable


def test_outcomes_read_well_in_the_audit() -> None:
    url = "https://crm.example/orders/O-1"
    ok = Delivery(url, 2, Attempt(200, "200 OK", transient=False), elapsed_s=0.041)
    assert ok.ok
    assert ok.describe() == "POST https://crm.example/orders/O-1 → 200 OK after 2 attempts (41 ms)"
    assert Delivery(url, 1, ok.last, 0.002).describe().endswith("after 1 attempt (2 ms)")
    exhausted = Delivery(url, 6, Attempt(503, "503 Service Unavailable", transient=True), 15.24,
                         gave_up="gave up after 6 attempts")
    assert not exhausted.ok
    assert exhausted.describe() == f"POST {url} → gave up after 6 attempts: 503 Service Unavailable (15.2 s)"
    refused = Delivery(url, 1, Attempt(400, "400 Bad Request", transient=False), 0.003)
    assert refused.describe() == f"POST {url} → 400 Bad Request, not retried (3 ms)"
    never = not_sent(url, "the signing secret is not set")
    assert (never.ok, never.attempts, never.last.status) == (False, 0, None)
    assert never.describe() == f"POST {url} not sent: the signing secret is not set"
