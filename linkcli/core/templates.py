"""Message templates: the built-in defaults, placeholder checks and rendering.

Templates use `{placeholder}`; `{{` and `}}` are literal braces. Only the names in
`PLACEHOLDERS` exist, so a typo is a config error found before anything is sent, never a
client receiving "{therapst}".
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field

PLACEHOLDERS = (
    "client_first_name",
    "client_name",
    "therapist",
    "therapist_name",
    "practice",
    "date",
    "time",
    "day",
    "starts_in",
    "link",
)

FIELDS = ("sms", "email_subject", "email_body")


@dataclass(frozen=True)
class TemplateSet:
    """The texts of one step; a missing field falls back to the next layer."""

    sms: str | None = None
    email_subject: str | None = None
    email_body: str | None = None
    # The same step in other languages (`[templates."STEP".es]`), keyed by BCP 47 tag.
    languages: Mapping[str, TemplateSet] = field(default_factory=dict)

    def get(self, field: str) -> str | None:
        """The text for `field` (one of FIELDS), or None when this layer lacks it."""
        return getattr(self, field)


# Built-in defaults. Kept in GSM-7 (straight quotes, no dashes): one curly quote turns an
# SMS into UCS-2 and doubles its cost. With a typical Zoom link each SMS fits one segment.
BUILTIN: dict[str, TemplateSet] = {
    "confirmation": TemplateSet(
        email_subject="Your session with {therapist} on {date}",
        email_body=(
            "Hi {client_first_name},\n\n"
            "Your telehealth session with {therapist} is booked for {date} at {time}.\n\n"
            "Join here at the time of your session:\n{link}\n\n"
            "We will send you the link again before the session. The attached calendar "
            "invitation holds it too.\n\n"
            "{practice}"
        ),
    ),
    "reminder-24h": TemplateSet(
        sms="Reminder: {therapist} session {day} at {time}. Join here: {link}",
        email_subject="Reminder: your session with {therapist} {day} at {time}",
        email_body=(
            "Hi {client_first_name},\n\n"
            "This is a reminder of your telehealth session with {therapist} {day}, "
            "{date} at {time}.\n\n"
            "Join here:\n{link}\n\n"
            "The attached calendar invitation holds the link too.\n\n"
            "{practice}"
        ),
    ),
    "final-30m": TemplateSet(
        sms="Your session with {therapist} starts in {starts_in}. Join now: {link}",
        email_subject="Your session with {therapist} starts in {starts_in}",
        email_body=(
            "Hi {client_first_name},\n\n"
            "Your telehealth session with {therapist} starts in {starts_in}, at {time}.\n\n"
            "Join now:\n{link}\n\n"
            "{practice}"
        ),
    ),
    # Sent when the link of a session the client was already told of changes.
    "link-changed": TemplateSet(
        sms="New link for your {therapist} session {day} at {time}: {link}",
        email_subject="New link for your session with {therapist} on {date}",
        email_body=(
            "Hi {client_first_name},\n\n"
            "The link for your telehealth session with {therapist} on {date} at {time} "
            "has changed. Please use this one:\n{link}\n\n"
            "The attached calendar update holds it too.\n\n"
            "{practice}"
        ),
    ),
    # Sent when a session the client was told of is cancelled; its calendar file
    # (METHOD:CANCEL) removes the event. No link, and no invitation to reply.
    "cancellation": TemplateSet(
        email_subject="Canceled: your session with {therapist} on {date}",
        email_body=(
            "Hi {client_first_name},\n\n"
            "Your telehealth session with {therapist} on {date} at {time} has been "
            "canceled. The attached calendar update removes it from your calendar.\n\n"
            "To book another time, please contact {practice}.\n\n"
            "{practice}"
        ),
    ),
    # The answer to a client who texts for the link (`[replies]`): text only.
    "link-reply": TemplateSet(sms="Your {therapist} session {day} at {time}: {link}"),
    # The answer when no session is near: nothing about any session.
    "no-session": TemplateSet(sms="No upcoming session found. Please contact {practice}."),
}


def template_problems(text: str) -> list[str]:
    """Why `text` is not a valid template (unknown placeholder, bad braces); [] if fine."""
    problems: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        return [f"braces do not balance ({exc}); write {{{{ and }}}} for literal braces"]
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            shown = "{" + name + "}" if name else "{}"
            problems.append(
                f"unknown placeholder {shown}; known: "
                + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            )
        elif spec or conversion:
            problems.append(f"placeholder {{{name}}} takes no format spec or conversion")
    return problems


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill a checked template. Missing values render as empty text, never as braces."""
    out: list[str] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(text):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return "".join(out)
