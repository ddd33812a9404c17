"""Which telehealth links may be sent to a client (DESIGN.md, "Links").

A link is sent only when it is https, its host is an allowed host or a subdomain of one,
and it does not look like a generic personal meeting room. A refused link puts its
appointment in `attention` and holds its link messages, so every refusal is a one-line
reason an operator can act on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = (
    # Zoom (us02web.zoom.us etc. are subdomains) and Zoom for Government.
    "zoom.us",
    "zoomgov.com",
    # SimplePractice; clients join at video.simplepractice.com/appt-..., listed on its own
    # for readers even though the parent domain already covers it.
    "simplepractice.com",
    "video.simplepractice.com",
    # TherapyNotes and its client portal.
    "therapynotes.com",
    "therapyportal.com",
    "doxy.me",
    # Only Meet, not google.com: any google.com subdomain would let Docs or Sites pages in.
    "meet.google.com",
    "teams.microsoft.com",
    "teams.live.com",
    "webex.com",
)

# Matched against the normalised URL (see `LinkPolicy.check`), case-insensitively.
DEFAULT_REJECT_PATTERNS: tuple[str, ...] = (
    # Zoom personal rooms (/my/NAME) are the same room for every client of a therapist:
    # sending one risks a client walking into someone else's session.
    r"^https://([a-z0-9-]+\.)*(zoom\.us|zoomgov\.com)/my/",
)

# Session links on a host that is not allowed as a whole: Calendly's own redirect to the
# Google Meet or Teams conference of one booked event (its `join_url` for those
# locations). Only this shape passes; any other calendly.com page (a booking page, a
# profile) is a scheduling page, not a session, and stays refused.
SESSION_REDIRECTS: tuple[str, ...] = (
    r"^calendly\.com/events/[0-9a-f]{8}(-?[0-9a-f]{4}){3}-?[0-9a-f]{12}"
    r"/(google_meet|microsoft_teams)/?$",
)

_HOST_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$")


def validate_patterns(patterns: Iterable[object]) -> list[str]:
    """One message per reject pattern that cannot be used; an empty list when all can.

    Patterns are compiled as `check` compiles them (case-insensitive). An empty pattern
    is refused too: it matches every link, so nothing would ever be sent.
    """
    errors: list[str] = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            errors.append(f"{pattern!r} is not a string")
        elif not pattern:
            errors.append("an empty pattern would match every link")
        else:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                errors.append(f"{pattern!r} is not a valid regular expression: {exc}")
    return errors


@dataclass(frozen=True)
class LinkPolicy:
    """The `[links]` settings: allowed hosts and personal-room patterns."""

    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    reject_patterns: tuple[str, ...] = DEFAULT_REJECT_PATTERNS

    def __post_init__(self) -> None:
        # Lists become tuples so the policy stays hashable; a bare string is refused
        # because it would silently become a tuple of single characters.
        for name in ("allowed_hosts", "reject_patterns"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"{name} must be a sequence of strings, not a string")
            object.__setattr__(self, name, tuple(value))

    def check(self, url: str | None) -> str | None:
        """None when `url` may be sent, else a one-line reason it may not.

        Rules: the scheme is exactly https (any case); the host, lower-cased and without a
        trailing dot, equals an allowed host or ends with "." + one; no user name or
        password before the host; no port other than 443 (no telehealth platform uses
        one, so another port means a typo or a look-alike server); no whitespace, control,
        invisible formatting character or backslash anywhere. Reject patterns are
        searched in the normalised URL `https://HOST/PATH?QUERY#FRAGMENT` (lower-case
        host, no user info, no port), case-insensitively; a pattern that does not compile
        refuses every link (config validation should have stopped it first).
        """
        if url is None or not url.strip():
            return "no telehealth link"
        bad = _bad_character(url)
        if bad is not None:
            return f"link contains {bad}"
        try:
            parts = urlsplit(url)
            port = parts.port  # raises on a non-numeric or out-of-range port
        except ValueError:
            return "link is not a valid URL"
        if parts.scheme.lower() != "https":
            return "link is not https"
        host = _normalise_host(parts.hostname or "")
        if not host:
            return "link has no host"
        if not _is_hostname(host):
            return f"link host {host!r} is not a valid host name"
        if not _host_allowed(host, self.allowed_hosts) and not any(
            re.match(p, host + parts.path, re.IGNORECASE) for p in SESSION_REDIRECTS
        ):
            return f"host {host} is not in [links] allowed_hosts"
        if parts.username is not None or parts.password is not None:
            # Browsers and urllib disagree on where such a host ends; never send one.
            return "link has a user name or password before the host"
        if port is not None and port != 443:
            return f"link uses port {port}; only the standard https port is allowed"
        normalised = f"https://{host}{_normalise_path(parts.path)}"
        if parts.query:
            normalised += f"?{parts.query}"
        if parts.fragment:
            normalised += f"#{parts.fragment}"
        for pattern in self.reject_patterns:
            try:
                matched = re.search(pattern, normalised, re.IGNORECASE)
            except re.error:
                # Config validation reports this with key and line; should a policy get
                # here anyway, hold the link rather than skip the check it stands for.
                return f"link cannot be checked: [links] reject_patterns has {pattern!r}"
            if matched:
                return (
                    "link looks like a personal meeting room "
                    f"(matches [links] reject_patterns: {pattern})"
                )
        return None


def _bad_character(url: str) -> str | None:
    """Describe the first character a link must not contain, if any."""
    for ch in url:
        if ch == "\\":
            # Browsers read "\" as "/" in https URLs; urllib does not (a host mismatch).
            return "a backslash"
        if ch.isspace():
            return "whitespace"
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            # Control and invisible formatting characters (e.g. U+202E, which reverses
            # the displayed text) can make a link read differently from where it goes.
            return f"an invisible or control character (U+{ord(ch):04X})"
    return None


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _normalise_path(path: str) -> str:
    """The path a browser opens: percent-encoded unreserved characters decoded (so
    `%2e%2e` is `..`), then dot segments resolved (RFC 3986 5.2.4), so
    `/j/../my/room` is checked as `/my/room`."""

    def decode(match: re.Match[str]) -> str:
        ch = chr(int(match.group(1), 16))
        return ch if ch in _UNRESERVED else match.group(0)

    decoded = re.sub(r"%([0-9A-Fa-f]{2})", decode, path)
    out: list[str] = []
    segments = decoded.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/".join(out)


def _normalise_host(host: str) -> str:
    """Lower-case, without the trailing dot that DNS allows on a fully-qualified name."""
    host = host.strip().lower()
    return host[:-1] if host.endswith(".") else host


def _is_hostname(host: str) -> bool:
    return all(_HOST_LABEL.match(label) for label in host.split("."))


def _host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    """Exact match or a subdomain on a dot boundary: evilzoom.us is not zoom.us."""
    for entry in allowed_hosts:
        allowed = _normalise_host(entry).removeprefix("*.").removeprefix(".")
        if allowed and (host == allowed or host.endswith("." + allowed)):
            return True
    return False
