"""Replies to the practice number: what kind each is, and which answer it gets.

A client who texts LINK (or asks anything just before a session) gets the current link of
their own next session; nothing else about any session, and never another client's.
Pure: the store's facts come in as values, the answer goes out as a value; dispatch
records it as a send, so the one send verdict decides when it may go (quiet hours, link
policy) and the unique key makes it go once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from linkcli.core.optout import classify_reply

ReplyKind = Literal["link", "other", "opt-out", "opt-in"]

LINK_REPLY = "link-reply"
NO_SESSION = "no-session"
ANSWER_STEPS = (LINK_REPLY, NO_SESSION)

STARTED_GRACE = timedelta(minutes=15)  # a session started this recently still gets its link
ASKING_AHEAD = timedelta(minutes=60)  # any reply this close to the start is asking for it
ANSWER_GAP = timedelta(minutes=10)  # at most one automatic answer per number per gap
TOO_OLD = timedelta(hours=1)  # a reply first read later than this is for a human, not a bot
ANSWER_LIFETIME = timedelta(hours=12)  # a held no-session answer is dropped after this

_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def reply_kind(body: str, keywords: Iterable[str]) -> ReplyKind:
    """`link` for a reply that is only a link keyword (any case, surrounding punctuation
    ignored: "link?", " Link. "), `opt-out`/`opt-in` for the carriers' words, else
    `other`."""
    verdict = classify_reply(body)
    if verdict == "opt_out":
        return "opt-out"
    if verdict == "opt_in":
        return "opt-in"
    word = _EDGES.sub("", body.strip()).upper()
    return "link" if word in {k.upper() for k in keywords} else "other"


@dataclass(frozen=True)
class Session:
    """A live telehealth session of one of the number's clients."""

    appointment_id: str
    participant_id: str
    start: datetime


@dataclass(frozen=True)
class Facts:
    """What the store knows about the number a reply came from."""

    texted_before: bool  # linkcli has texted this number
    opted_out: bool
    answered_recently: bool  # an automatic answer went (or is going) within ANSWER_GAP
    clients: frozenset[str]  # participant ids whose mobile is this number
    last_about: frozenset[str]  # participant(s) the latest text to the number was about
    sessions: Sequence[Session]  # the clients' live sessions starting in the answer window


@dataclass(frozen=True)
class Answer:
    """What a reply gets: a step to send (None: nothing automatic), the session it is
    about, and why a human should read it (None: the answer covers it)."""

    step: str | None
    session: Session | None = None
    why_unanswered: str | None = None
    once_per_session: bool = False  # an `other` reply: answered once per session


def answer_window(now: datetime, ahead: timedelta) -> tuple[datetime, datetime]:
    """Sessions starting in [start, end) are the ones a reply can be about."""
    return now - STARTED_GRACE, now + ahead


def choose_answer(
    kind: ReplyKind,
    facts: Facts,
    received_at: datetime,
    now: datetime,
    enabled: bool = True,
) -> Answer:
    """The answer to one reply, by the rules of DESIGN.md "Replies and the link on
    request". Opt-out/opt-in words are handled by the opt-out rules, not here."""
    if kind in ("opt-out", "opt-in"):
        return Answer(None)
    session, ambiguous = _their_session(facts, now)
    if not enabled:
        return Answer(None, session, "answering replies is off ([replies] enabled = false)")
    if now - received_at > TOO_OLD:
        return Answer(None, session, "read too late for an automatic answer")
    if not facts.texted_before:
        return Answer(None, session, "from a number linkcli has not texted")
    if facts.opted_out:
        return Answer(None, session, "the number is opted out of texts")
    if facts.answered_recently:
        return Answer(None, session, "answered another reply from this number minutes ago")
    if ambiguous:
        why = "the number belongs to several clients; could not tell whose session"
        # Only "please contact": never one client's link to another's parent.
        return Answer(NO_SESSION if kind == "link" or session else None, None, why)
    if kind == "link":
        return Answer(LINK_REPLY, session) if session else Answer(NO_SESSION)
    if session is not None and session.start - now <= ASKING_AHEAD:
        return Answer(LINK_REPLY, session, once_per_session=True)
    return Answer(None, session, "not a request linkcli can answer")


def _their_session(facts: Facts, now: datetime) -> tuple[Session | None, bool]:
    """The soonest session of the client the number is about, and whether that is
    ambiguous (a shared number whose latest text does not settle whose session it is).
    For an ambiguous number the session returned is any one close enough to ask about
    (so an `other` reply just before it still reaches a human with the "please contact"
    text), else None."""
    whose = facts.clients
    if len(whose) > 1:
        whose = facts.clients & facts.last_about
    sessions = sorted(
        (s for s in facts.sessions if s.participant_id in whose), key=lambda s: s.start
    )
    if len(facts.clients) > 1:
        soonest = {s.participant_id: s.appointment_id for s in reversed(sessions)}
        if not whose or len(set(soonest.values())) > 1:
            near = [s for s in facts.sessions if s.start - now <= ASKING_AHEAD]
            return (near[0] if near else None), True
    return (sessions[0] if sessions else None), False


_PHONE_LIKE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_EMAIL_LIKE = re.compile(r"[^\s@]+@[^\s@]+")
SHOWN_CHARS = 80


def shown_reply(body: str | None) -> str:
    """A reply's words as an operator may read them: one printable line, capped, with
    phone numbers and email addresses inside it masked like every address linkcli shows."""
    from linkcli.core.phones import mask_email, mask_phone
    from linkcli.core.report import printable

    text = _PHONE_LIKE.sub(lambda m: mask_phone(m.group(0)), printable(body or ""))
    text = _EMAIL_LIKE.sub(lambda m: mask_email(m.group(0)), text)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def needs_human(
    kind: str, answered: bool, reason: str | None, answer_state: str | None
) -> str | None:
    """Why a stored reply is an attention item (None: it is not). Opt-out/opt-in words
    are the opt-out rules' business; an answer still pending (held by quiet hours) is
    on its way; anything else not answered, or answered only with "please contact",
    must be read by a person."""
    if kind not in ("link", "other"):
        return None
    if reason:
        return reason
    if answered:
        return None
    if answer_state in ("pending", "sending"):
        return None
    if answer_state is not None:
        return f"its answer was not sent ({answer_state})"
    return "not answered"
