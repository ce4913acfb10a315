"""The retry policy (IDEM-4), as a unit (mirroring stripe-python's tests of its HTTP client) and as
GatewayHttp applies it to real failures: money is sent again only when it provably never left."""

from __future__ import annotations

import httpx
import pytest

from terminal.gateways.errors import GatewayUnavailableError, OutcomeUnknownError
from terminal.gateways.http import GatewayHttp, HttpReply
from terminal.gateways.retry import NO_RETRY, Failure, RetryPolicy, Safety
from tests.gateways.conftest import run

POLICY = RetryPolicy(max_retries=2, base_delay=0.5, max_delay=4.0, jitter=0.5)
FAST = RetryPolicy(max_retries=2, base_delay=0.0, max_delay=0.0)


# -- the policy as a unit ---------------------------------------------------------------------------------
@pytest.mark.parametrize("safety", list(Safety))
def test_should_retry_on_codes(safety: Safety) -> None:
    assert POLICY.should_retry(safety, Failure.STATUS, 1, 429)  # throttled: not processed
    for status in (500, 502, 503, 504):
        assert POLICY.should_retry(safety, Failure.STATUS, 1, status) is (safety is not Safety.MONEY)
    for status in (200, 201, 400, 401, 402, 404, 409, 422):
        assert not POLICY.should_retry(safety, Failure.STATUS, 1, status)


@pytest.mark.parametrize("safety", list(Safety))
def test_should_retry_on_error(safety: Safety) -> None:
    assert POLICY.should_retry(safety, Failure.NOT_SENT, 1)
    assert POLICY.should_retry(safety, Failure.ANSWER_LOST, 1) is (safety is not Safety.MONEY)


def test_should_retry_on_num_retries() -> None:
    assert POLICY.should_retry(Safety.READ, Failure.NOT_SENT, 2)
    assert not POLICY.should_retry(Safety.READ, Failure.NOT_SENT, 3)
    assert not NO_RETRY.should_retry(Safety.READ, Failure.NOT_SENT, 1)


def test_sleep_time_exponential_back_off() -> None:
    steady = RetryPolicy(base_delay=0.5, max_delay=4.0, jitter=0.0)
    assert [steady.sleep_time(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_has_randomness_but_within_range() -> None:
    delays = {POLICY.sleep_time(3) for _ in range(200)}
    assert len(delays) > 50
    assert all(1.0 <= d <= 2.0 for d in delays)  # 2.0 s of back-off, jitter takes off at most half


def test_retry_after_is_honoured_and_capped() -> None:
    assert POLICY.sleep_time(1, "2") == 2.0
    assert POLICY.sleep_time(1, "120") == 4.0
    assert 0.25 <= POLICY.sleep_time(1, "Wed, 21 Oct 2015 07:28:00 GMT") <= 0.5  # a date: back-off
    assert 0.25 <= POLICY.sleep_time(1, "-3") <= 0.5


# -- the policy applied by GatewayHttp ---------------------------------------------------------------------
class _Script(httpx.AsyncBaseTransport):
    """Answers each attempt from a script: an httpx error class to raise, or a status to answer."""

    def __init__(self, *steps: type[httpx.TransportError] | int | bytes) -> None:
        self.steps = list(steps)
        self.calls: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, int):
            return httpx.Response(step, headers={"Retry-After": "0"}, json={"status": step})
        if isinstance(step, bytes):  # a JSON answer cut short on the way
            return httpx.Response(200, headers={"Content-Type": "application/json"}, content=step)
        raise step("scripted", request=request)


def _send(transport: _Script, safety: Safety, policy: RetryPolicy = FAST) -> HttpReply:
    async def scenario() -> HttpReply:
        http = GatewayHttp("testgw", "http://127.0.0.1:9", transport=transport, retry=policy)
        try:
            return await http.request("POST", "/pay", content=b"{}", safety=safety)
        finally:
            await http.aclose()

    return run(scenario())


@pytest.mark.parametrize("safety", list(Safety))
def test_a_request_that_never_left_is_sent_again(safety: Safety) -> None:
    transport = _Script(httpx.ConnectError, httpx.ConnectTimeout, 200)
    assert _send(transport, safety).status == 200
    assert len(transport.calls) == 3


def test_retries_are_bounded() -> None:
    transport = _Script(httpx.ConnectError)
    with pytest.raises(GatewayUnavailableError):
        _send(transport, Safety.MONEY)
    assert len(transport.calls) == 3


def test_a_money_request_whose_answer_was_lost_is_never_sent_again() -> None:
    for error in (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError):
        transport = _Script(error, 200)
        with pytest.raises(OutcomeUnknownError):
            _send(transport, Safety.MONEY)
        assert len(transport.calls) == 1


@pytest.mark.parametrize("safety", [Safety.READ, Safety.IDEMPOTENT])
def test_a_read_or_idempotent_request_whose_answer_was_lost_is_sent_again(safety: Safety) -> None:
    transport = _Script(httpx.ReadTimeout, 200)
    assert _send(transport, safety).status == 200
    assert len(transport.calls) == 2
    assert transport.calls[0].content == transport.calls[1].content  # the same bytes, the same key


def test_a_money_request_answered_503_is_not_sent_again_but_429_is() -> None:
    unavailable = _Script(503, 200)
    assert _send(unavailable, Safety.MONEY).status == 503
    assert len(unavailable.calls) == 1
    throttled = _Script(429, 200)
    assert _send(throttled, Safety.MONEY).status == 200
    assert len(throttled.calls) == 2


def test_a_read_answered_503_is_sent_again_and_the_last_answer_returned() -> None:
    transport = _Script(503)
    assert _send(transport, Safety.READ).status == 503
    assert len(transport.calls) == 3


def test_a_bad_address_is_not_retried() -> None:
    transport = _Script(httpx.UnsupportedProtocol)
    with pytest.raises(GatewayUnavailableError):
        _send(transport, Safety.READ)
    assert len(transport.calls) == 1


def test_a_garbled_json_answer_is_an_answer_lost() -> None:
    cut = b'{"status": "APPRO'
    read = _Script(cut, 200)
    assert _send(read, Safety.READ).status == 200
    assert len(read.calls) == 2
    money = _Script(cut, 200)
    assert _send(money, Safety.MONEY).body == cut  # returned as is: the adapter calls it unknown
    assert len(money.calls) == 1
