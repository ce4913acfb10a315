"""navigation.decide with tricky URLs: no Qt, just the policy (WEB-2, WEB-7)."""

from __future__ import annotations

import pytest

from terminal.ui.navigation import Decision, NavigationRequest, decide, is_loopback_host, origin_of

GATEWAY = "https://gw.example"
SANDBOX = "http://127.0.0.1:5000"
RETURN = "http://127.0.0.1:7000/return/abc"
ORIGINS = frozenset({GATEWAY, SANDBOX, "https://xn--bcher-kva.example"})


def check(
    url: str, *, prefix: str = RETURN, sandbox: bool = True, main_frame: bool = True, **kw: str
) -> Decision:
    request = NavigationRequest(url, main_frame=main_frame, kind="link")
    return decide(request, prefix, ORIGINS, allow_loopback_http=sandbox, **kw)


@pytest.mark.parametrize(
    "url",
    [
        RETURN,
        RETURN + "?token=t1&status=ok",
        RETURN + "/",
        RETURN + "/next?x=1",
        RETURN + "#fragment",
        "http://127.0.0.1:7000/return/abc?",
        "HTTP://127.0.0.1:7000/return/abc",
    ],
)
def test_return_url_and_below_complete(url: str) -> None:
    assert check(url) is Decision.COMPLETE
    assert check(url, main_frame=False) is Decision.COMPLETE  # a 3-D Secure frame may be the one returning


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:7000/return/abcd",  # path confusion
        "http://127.0.0.1:7000/return/ab",
        "http://127.0.0.1:7000/return/ABC",  # paths are case-sensitive
        "http://127.0.0.1:7000/return/abc/../abd",  # dot segments are never guessed at
        "http://127.0.0.1:7000/return/abc/%2e%2E/abd",  # encoded dot segments likewise
        "http://127.0.0.1:7000/return/abc%2Fx",  # an encoded slash is not a path boundary
        "http://127.0.0.1:7001/return/abc",  # other port
        "http://127.0.0.1:70001/return/abc",  # malformed port that a string prefix would accept
        "http://127.0.0.1:7000@evil.example/return/abc",  # userinfo: the host is evil.example
        "http://127.0.0.2:7000/return/abc",  # another loopback address is another origin
        "https://127.0.0.1:7000/return/abc",  # another scheme is another origin
        "http://127.0.0.1:7000\\@evil.example/return/abc",  # backslash: parsers disagree, so refuse
        "http://127.0.0.1:7000/return/abc def",
    ],
)
def test_near_misses_do_not_complete(url: str) -> None:
    assert check(url) is Decision.BLOCK


def test_return_with_a_query_prefix_ends_at_a_parameter_boundary() -> None:
    prefix = "https://gw.example/back?session=s1"
    assert check("https://gw.example/back?session=s1", prefix=prefix) is Decision.COMPLETE
    assert check("https://gw.example/back?session=s1&ok=1", prefix=prefix) is Decision.COMPLETE
    # Still the gateway's origin, so allowed, but not the return.
    assert check("https://gw.example/back?session=s10", prefix=prefix) is Decision.ALLOW
    assert check("https://gw.example/back/x?session=s1", prefix=prefix) is Decision.ALLOW


def test_a_prefix_ending_in_a_slash_covers_what_is_below_it() -> None:
    prefix = "https://gw.example/return/"
    assert check("https://gw.example/return/", prefix=prefix) is Decision.COMPLETE
    assert check("https://gw.example/return/x", prefix=prefix) is Decision.COMPLETE
    assert check("https://gw.example/returns", prefix=prefix) is Decision.ALLOW


@pytest.mark.parametrize(
    "url",
    [
        "https://gw.example/pay",
        "https://GW.EXAMPLE/pay",
        "https://gw.example./pay",
        "https://gw.example:443/pay",
        "https://bücher.example/karte",  # IDN, allowed in its punycode form
        "https://BÜCHER.example/karte",
        "https://gw\u3002example/pay",  # an ideographic full stop is a dot to IDNA and to browsers alike
        "http://127.0.0.1:5000/sim",
        "about:blank",
        "ABOUT:BLANK",
    ],
)
def test_allowed(url: str) -> None:
    assert check(url) is Decision.ALLOW
    assert check(url, main_frame=False) is Decision.ALLOW


@pytest.mark.parametrize(
    "url",
    [
        "https://gw.example:444/pay",
        "https://gw.example.evil.example/",
        "https://evil.example/?next=https://gw.example/",
        "https://evil.example/#https://gw.example",
        "https://gw.example@evil.example/",
        "https://user@gw.example/",  # userinfo on an allowed host is refused too
        "https://bucher.example/",  # the IDN's ASCII look-alike is a different host
        "https://xn--bcher-kva.example.evil.example/",
        "https://bü\u200bcher.example/",  # invisible characters are refused, not mapped away
        "http://gw.example/pay",  # https only off loopback
        "http://127.0.0.1:5001/",
        "http://localhost:5000/",  # another spelling of loopback is another origin
        "http://[::1]:5000/",
        "data:text/html;base64,PGgxPmhpPC9oMT4=",
        "javascript:void(0)",
        " javascript:alert(1)",
        "file:///C:/Windows/win.ini",
        "blob:http://127.0.0.1:5000/5f1c",
        "filesystem:http://127.0.0.1:5000/temporary/x",
        "about:srcdoc",
        "about:config",
        "chrome://settings",
        "view-source:https://gw.example/",
        "wss://gw.example/socket",
        "mailto:a@gw.example",
        "tel:+15551234",
        "//gw.example/pay",
        "/relative/path",
        "https://",
        "https://:443/",
        "https://gw.example:0/",
        "https://gw.example:-1/",
        "https://gw.example:443:443/",
        "https://gw.example\t/",
        "https://gw.example\n.evil.example/",
    ],
)
def test_blocked(url: str) -> None:
    assert check(url) is Decision.BLOCK
    assert check(url, main_frame=False) is Decision.BLOCK


def test_loopback_http_needs_the_sandbox_switch_or_the_terminals_own_origin() -> None:
    assert check("http://127.0.0.1:5000/sim", sandbox=False) is Decision.BLOCK
    assert check(RETURN, sandbox=False) is Decision.BLOCK
    # The terminal's own listener stays reachable on a live profile, and only that origin.
    local = "http://127.0.0.1:7000"
    assert check(RETURN + "?t=1", sandbox=False, local_origin=local) is Decision.COMPLETE
    assert check("http://127.0.0.1:5000/sim", sandbox=False, local_origin=local) is Decision.BLOCK
    # It must still be the return or an allowed origin: naming it does not allow other paths' hosts.
    assert check("http://127.0.0.1:7000/page/x", sandbox=False, local_origin=local) is Decision.BLOCK
    # A non-loopback "local origin" grants nothing over plain http.
    plain = "http://gw.example"
    assert check("http://gw.example/pay", sandbox=False, local_origin=plain) is Decision.BLOCK


def test_a_plain_http_return_off_loopback_never_completes() -> None:
    prefix = "http://merchant.example/return/abc"
    assert check(prefix, prefix=prefix) is Decision.BLOCK


def test_kind_does_not_widen_anything() -> None:
    for kind in ("typed", "form", "redirect", "resource:Script", "other", ""):
        request = NavigationRequest("https://evil.example/", main_frame=False, kind=kind)
        assert decide(request, RETURN, ORIGINS, allow_loopback_http=True) is Decision.BLOCK


def test_an_unparsable_prefix_completes_nothing() -> None:
    assert check(RETURN, prefix="not a url") is Decision.BLOCK
    assert check("https://gw.example/return", prefix="https://gw.example:99999/return") is Decision.ALLOW


def test_origin_of() -> None:
    assert origin_of("https://Bücher.Example./a") == "https://xn--bcher-kva.example:443"
    assert origin_of("http://LOCALHOST:8080/x") == "http://localhost:8080"
    assert origin_of("http://[0:0:0:0:0:0:0:1]/") == "http://[::1]:80"
    assert origin_of("https://gw.example:70000/") is None
    assert origin_of("https://a@gw.example/") is None
    assert origin_of("data:,x") is None
    assert origin_of("") is None


def test_loopback_hosts() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("127.200.0.1") and is_loopback_host("::1")
    assert is_loopback_host("LocalHost") and is_loopback_host("[::1]")
    for host in ("128.0.0.1", "localhost.example", "::ffff:10.0.0.1", "127.0.0.1.nip.io", "0x7f000001"):
        assert not is_loopback_host(host), host
