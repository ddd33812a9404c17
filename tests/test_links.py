"""Link policy: https only, allowed hosts on a dot boundary, personal rooms refused."""

from __future__ import annotations

import pytest

from linkcli.core.links import (
    DEFAULT_ALLOWED_HOSTS,
    DEFAULT_REJECT_PATTERNS,
    LinkPolicy,
    validate_patterns,
)

POLICY = LinkPolicy()
ZOOM_ROOM = DEFAULT_REJECT_PATTERNS[0]

ACCEPTED = [
    "https://zoom.us/j/81234567890?pwd=abc123",
    "https://us02web.zoom.us/j/81234567890?pwd=abc123",
    "https://ZOOM.US/j/81234567890",
    "HTTPS://zoom.us/j/81234567890",
    "https://zoom.us./j/81234567890",  # trailing dot of a fully-qualified name
    "https://zoom.us:443/j/81234567890",  # the standard port, spelled out
    "https://zoomgov.com/j/1612345678",
    "https://video.simplepractice.com/appt-0123456789abcdef0123456789abcdef",
    "https://secure.simplepractice.com/client-portal",
    "https://www.therapyportal.com/p/practice/telehealth/abc",
    "https://therapynotes.com/telehealth/abc",
    "https://doxy.me/drsmith",
    "https://meet.google.com/abc-defg-hij",
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0",
    "https://teams.live.com/meet/9312345678",
    "https://acme.webex.com/acme/j.php?MTID=m123",
    "https://us02web.zoom.us/j/1?pwd=x#success",
    "https://zoom.us/j/1?next=/my/alex",  # /my/ only counts at the start of the path
    "https://zoom.us/myroom",  # not the /my/ prefix
]

REFUSED = [
    (None, "no telehealth link"),
    ("", "no telehealth link"),
    ("   ", "no telehealth link"),
    ("http://zoom.us/j/1", "link is not https"),
    ("ftp://zoom.us/j/1", "link is not https"),
    ("zoom.us/j/1", "link is not https"),
    ("javascript:alert(1)", "link is not https"),
    ("https:///j/1", "link has no host"),
    ("https:zoom.us/j/1", "link has no host"),
    ("https://evil.example.com/j/1", "host evil.example.com is not in [links] allowed_hosts"),
    (
        "https://zoom.us.evil.example.com/j/1",
        "host zoom.us.evil.example.com is not in [links] allowed_hosts",
    ),
    ("https://evilzoom.us/j/1", "host evilzoom.us is not in [links] allowed_hosts"),
    ("https://google.com/meet", "host google.com is not in [links] allowed_hosts"),
    ("https://docs.google.com/x", "host docs.google.com is not in [links] allowed_hosts"),
    # userinfo: urllib's hostname is what a browser would visit.
    ("https://zoom.us@evil.example.com/", "host evil.example.com is not in [links] allowed_hosts"),
    (
        "https://zoom.us:443@evil.example.com/",
        "host evil.example.com is not in [links] allowed_hosts",
    ),
    # On an allowed host, user info is still refused: parsers disagree on such URLs.
    ("https://alex@zoom.us/j/1", "link has a user name or password before the host"),
    ("https://a:b@zoom.us/j/1", "link has a user name or password before the host"),
    # A browser would read the backslash as "/" and visit evil.example.com.
    ("https://evil.example.com\\@zoom.us/j/1", "link contains a backslash"),
    ("https://zoom.us:8443/j/1", "link uses port 8443; only the standard https port is allowed"),
    ("https://zoom.us:99999/j/1", "link is not a valid URL"),
    ("https://zoom.us:abc/j/1", "link is not a valid URL"),
    ("https://[zoom.us/j/1", "link is not a valid URL"),
    (" https://zoom.us/j/1", "link contains whitespace"),
    ("https://zoom.us/j/1 ", "link contains whitespace"),
    ("https://zoom.us/j/1\nhttps://evil.example.com", "link contains whitespace"),
    ("https://zoom.us/j/1\u00a0", "link contains whitespace"),
    ("https://zoom.us/j/\x001", "link contains an invisible or control character (U+0000)"),
    ("https://zoom.us/j/\u202e1", "link contains an invisible or control character (U+202E)"),
    ("https://zoom.us/j/\u200b1", "link contains an invisible or control character (U+200B)"),
    ("https://zoom.us../j/1", "link host 'zoom.us.' is not a valid host name"),
    # A homograph (Cyrillic "о") is not an ASCII host name at all.
    ("https://z\u043e\u043em.us/j/1", "link host 'z\u043e\u043em.us' is not a valid host name"),
    (
        "https://zoom.us/my/dr.smith",
        f"link looks like a personal meeting room (matches [links] reject_patterns: {ZOOM_ROOM})",
    ),
    (
        "https://us06web.zoom.us/my/drsmith?pwd=abc",
        f"link looks like a personal meeting room (matches [links] reject_patterns: {ZOOM_ROOM})",
    ),
    (
        "https://Zoom.US./MY/drsmith",
        f"link looks like a personal meeting room (matches [links] reject_patterns: {ZOOM_ROOM})",
    ),
    (
        "https://zoomgov.com/my/drsmith",
        f"link looks like a personal meeting room (matches [links] reject_patterns: {ZOOM_ROOM})",
    ),
]


@pytest.mark.parametrize("url", ACCEPTED)
def test_default_policy_accepts(url: str) -> None:
    assert POLICY.check(url) is None


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_default_policy_refuses_with_a_reason(url: str | None, reason: str) -> None:
    assert POLICY.check(url) == reason


def test_reasons_are_one_line() -> None:
    for url, _ in REFUSED:
        reason = POLICY.check(url)
        assert reason is not None and "\n" not in reason


@pytest.mark.parametrize(
    ("allowed", "url", "ok"),
    [
        (("Zoom.US.",), "https://zoom.us/j/1", True),  # config entries are normalised too
        (("*.example.org",), "https://video.example.org/r/1", True),
        (("*.example.org",), "https://example.org/r/1", True),
        (("example.org",), "https://badexample.org/r/1", False),
        (("video.example.org",), "https://example.org/r/1", False),
        ((), "https://zoom.us/j/1", False),
    ],
)
def test_allowed_hosts_match_exactly_or_on_a_dot_boundary(
    allowed: tuple[str, ...], url: str, ok: bool
) -> None:
    assert (LinkPolicy(allowed_hosts=allowed).check(url) is None) is ok


def test_custom_reject_patterns_replace_the_default() -> None:
    policy = LinkPolicy(reject_patterns=(r"doxy\.me/[^/?#]+$",))
    assert policy.check("https://zoom.us/my/drsmith") is None
    assert policy.check("https://doxy.me/drsmith") == (
        "link looks like a personal meeting room "
        r"(matches [links] reject_patterns: doxy\.me/[^/?#]+$)"
    )


def test_patterns_see_the_normalised_url() -> None:
    # No port, no trailing dot, lower-case host: a pattern needs to spell only one form.
    policy = LinkPolicy(reject_patterns=(r"^https://zoom\.us/j/1$",))
    assert policy.check("https://ZOOM.us.:443/j/1") is not None


def test_default_hosts_cover_the_named_platforms() -> None:
    for host in (
        "zoom.us",
        "zoomgov.com",
        "simplepractice.com",
        "video.simplepractice.com",
        "therapynotes.com",
        "therapyportal.com",
        "doxy.me",
        "meet.google.com",
        "teams.microsoft.com",
        "teams.live.com",
        "webex.com",
    ):
        assert host in DEFAULT_ALLOWED_HOSTS


@pytest.mark.parametrize(
    ("patterns", "errors"),
    [
        ((), []),
        (DEFAULT_REJECT_PATTERNS, []),
        ((r"^https://x\.example/", r"/my/"), []),
        (
            ("(",),
            [
                "'(' is not a valid regular expression: "
                "missing ), unterminated subpattern at position 0"
            ],
        ),
        (
            ("ok", "[a-", ""),
            [
                "'[a-' is not a valid regular expression: unterminated character set at position 0",
                "an empty pattern would match every link",
            ],
        ),
        ((42,), ["42 is not a string"]),
    ],
)
def test_validate_patterns(patterns: tuple[object, ...], errors: list[str]) -> None:
    assert validate_patterns(patterns) == errors


def test_a_bad_pattern_holds_every_link_instead_of_raising() -> None:
    # Config builds the policy before it fails on the problems it collected: no raise here.
    policy = LinkPolicy(reject_patterns=("(",))
    assert policy.check("https://zoom.us/j/1") == (
        "link cannot be checked: [links] reject_patterns has '('"
    )


def test_policy_refuses_a_bare_string() -> None:
    with pytest.raises(TypeError, match="allowed_hosts"):
        LinkPolicy(allowed_hosts="zoom.us")  # type: ignore[arg-type]


def test_policy_is_hashable_even_from_lists() -> None:
    policy = LinkPolicy(allowed_hosts=["zoom.us"], reject_patterns=[])  # type: ignore[arg-type]
    assert policy.allowed_hosts == ("zoom.us",)
    hash(policy)
