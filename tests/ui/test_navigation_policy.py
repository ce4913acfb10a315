"""The navigation policy (WEB-2, WEB-7): a pure function, tested without Qt."""

from __future__ import annotations

import pytest

from terminal.ui.navigation import Decision, NavigationRequest, decide, is_loopback_host, origin_of

GATEWAY = "https://pay.gateway.test"
RETURN = "https://merchant.test/return/ab"
LOOP = "http://127.0.0.1:5000"
ALLOWED = frozenset({GATEWAY, LOOP, "http://plain.gateway.test"})


def verdict(url: str, *, loopback_http: bool = True, main_frame: bool = True) -> Decision:
    request = NavigationRequest(url=url, main_frame=main_frame)
    return decide(request, RETURN, ALLOWED, allow_loopback_http=loopback_http)


@pytest.mark.parametrize(
    "url",
    [
        RETURN,
        RETURN + "/",
        RETURN + "?status=ok&id=7",
        RETURN + "/done?x=1",
        "https://MERCHANT.test:443/return/ab",
    ],
)
def test_the_return_url_and_below_it_complete(url: str) -> None:
    assert verdict(url) is Decision.COMPLETE


@pytest.mark.parametrize(
    "url",
    [
        "https://merchant.test/return/abc",  # path confusion: a sibling that merely starts with the prefix
        "https://merchant.test/return/a",
        "https://merchant.test/return",
        "https://merchant.test:8443/return/ab",  # same host, other port
        "http://merchant.test/return/ab",  # plain http to a non-loopback host
        "https://merchant.test.evil.test/return/ab",
    ],
)
def test_near_misses_of_the_return_url_do_not_complete(url: str) -> None:
    assert verdict(url) is not Decision.COMPLETE
    assert verdict(url) is Decision.BLOCK  # merchant.test is not an allowed origin either


def test_return_prefix_path_confusion_on_an_allowed_origin_is_not_complete() -> None:
    request = NavigationRequest(url=f"{GATEWAY}/return/abc")
    result = decide(request, f"{GATEWAY}/return/ab", ALLOWED, allow_loopback_http=False)
    assert result is Decision.ALLOW  # merely a page of the gateway, not the return


@pytest.mark.parametrize(
    "url",
    [
        GATEWAY + "/3ds",
        "https://pay.gateway.test:443/3ds",  # default port written
        "https://PAY.Gateway.TEST/3ds",  # upper-case host
        "https://pay.gateway.test./3ds",  # trailing dot
        LOOP + "/page/x",
        "http://127.0.0.1:5000",
    ],
)
def test_allowed_origins_are_allowed(url: str) -> None:
    assert verdict(url) is Decision.ALLOW


def test_allowed_origins_are_normalised_on_the_challenge_side_too() -> None:
    origins = frozenset({"https://PAY.gateway.test:443", "https://other.test."})
    for url in ("https://pay.gateway.test/", "https://other.test/x"):
        assert decide(NavigationRequest(url), RETURN, origins, allow_loopback_http=False) is Decision.ALLOW


@pytest.mark.parametrize(
    "url",
    [
        "https://pay.gateway.test:8443/3ds",  # other port on the same host
        "http://127.0.0.1:5001/",  # other port on loopback
        "http://127.0.0.1:5000@evil.test/",  # userinfo trick: the host is evil.test
        "https://pay.gateway.test@evil.test/",
        "https://user:pw@pay.gateway.test/",  # any userinfo is refused
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<h1>hi</h1>",
        "file:///etc/passwd",
        "blob:https://pay.gateway.test/1234",
        "ftp://pay.gateway.test/",
        "ws://127.0.0.1:5000/",
        "intent://scan/#Intent;scheme=zxing;end",
        "merchantapp://return?x=1",
        "about:srcdoc",
        "http://plain.gateway.test/",  # http to a non-loopback host even though it is listed
        "http://pay.gateway.test/",  # https listed, http asked
        "https://evil.test/",
        "https://pay.gateway.test.evil.test/",
        "https://127.0.0.1.evil.test:5000/",
        "",
        "not a url",
        "https://pay.gateway.test:99999/",  # malformed port
    ],
)
def test_everything_else_is_blocked(url: str) -> None:
    assert verdict(url) is Decision.BLOCK
    assert verdict(url, main_frame=False) is Decision.BLOCK


def test_plain_http_to_loopback_needs_the_sandbox_switch() -> None:
    assert verdict(LOOP + "/page/x", loopback_http=True) is Decision.ALLOW
    assert verdict(LOOP + "/page/x", loopback_http=False) is Decision.BLOCK
    loop_return = NavigationRequest(url=LOOP + "/return/t?x=1")
    assert decide(loop_return, LOOP + "/return/t", ALLOWED, allow_loopback_http=True) is Decision.COMPLETE
    assert decide(loop_return, LOOP + "/return/t", ALLOWED, allow_loopback_http=False) is Decision.BLOCK


def test_about_blank_is_allowed() -> None:
    assert verdict("about:blank") is Decision.ALLOW
    assert verdict("about:blank", loopback_http=False) is Decision.ALLOW


def test_origin_of_writes_one_form() -> None:
    assert origin_of("https://x.test") == origin_of("https://x.test:443/") == "https://x.test:443"
    assert origin_of("HTTPS://X.Test./a?b#c") == "https://x.test:443"
    assert origin_of("http://127.0.0.1/") == "http://127.0.0.1:80"
    assert origin_of("http://[::1]:8080/") == "http://[::1]:8080"
    assert origin_of("http://127.0.0.1:5000@evil.test/") is None
    assert origin_of("javascript:alert(1)") is None
    assert origin_of("file:///etc/passwd") is None


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "[::1]", "localhost", "LOCALHOST", "localhost."],
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1.evil.test",
        "localhost.evil.test",
        "evil-localhost",
        "10.0.0.1",
        "0.0.0.0",
        "::",
        "example.test",
        "",
    ],
)
def test_not_loopback_hosts(host: str) -> None:
    assert not is_loopback_host(host)
