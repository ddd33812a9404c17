"""Replies to the practice number, recorded and answered (DESIGN.md, "Replies and the
link on request").

Every reply read from the provider is stored once (its provider id is unique). One that
gets an automatic answer has it planned, in the same transaction, as a pending send of
step `link-reply` or `no-session` with a unique key: from then on it is a send like any
other, so the one send verdict decides when it may go (quiet hours, the link policy, an
opt-out) and claim/attempt/recovery make it go exactly once, even across a crash.
Which answer a reply gets is the pure core's choice (core/replies.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from linkcli.channels.base import InboundReply
from linkcli.config import Config
from linkcli.core.phones import normalize_mobile
from linkcli.core.plan import send_key
from linkcli.core.replies import (
    ANSWER_GAP,
    ANSWER_LIFETIME,
    LINK_REPLY,
    STARTED_GRACE,
    Facts,
    ReplyKind,
    Session,
    answer_window,
    choose_answer,
    reply_kind,
)
from linkcli.store import AnswerSend, Known, ReplyRecord, Store

SESSION_AGAIN = "already answered once for this session; read by a human"


def replies_wanted(config: Config, store: Store, now: datetime) -> bool:
    """Whether this run should read replies although no text is due: answering is on,
    the provider can list replies, and a session starts within `link_ahead` (or started
    moments ago). One index probe: the quiet cron tick stays as cheap as before."""
    if not config.replies.enabled or config.sms.provider != "twilio":
        return False
    return store.session_starts_between(*answer_window(now, config.replies.link_ahead))


class Answers:
    """Records the replies of one read and plans their answers."""

    def __init__(self, config: Config, store: Store, now: datetime) -> None:
        self.config = config
        self.store = store
        self.now = now
        start, end = answer_window(now, config.replies.link_ahead)
        self._window: list[Known] = [
            known
            for known in store.appointments_between(start, end)
            if known.appointment.is_live_telehealth
        ]
        self._numbers: dict[str, list[tuple[Known, str]]] | None = None

    def record(self, replies: Sequence[InboundReply]) -> int:
        """Store each reply not seen before and plan its answer; how many were new."""
        seen = self.store.known_reply_sids([r.sid for r in replies])
        new = 0
        for reply in replies:
            if reply.sid in seen:
                continue
            seen.add(reply.sid)
            new += self._one(reply)
        return new

    def _one(self, reply: InboundReply) -> int:
        number = reply.from_number
        kind = reply_kind(reply.body, self.config.replies.link_keywords)
        facts = self._facts(number, kind)
        answer = choose_answer(kind, facts, reply.sent_at, self.now, self.config.replies.enabled)
        session = answer.session
        record = ReplyRecord(
            sid=reply.sid,
            received_at=reply.sent_at,
            number=number,
            body=reply.body,
            kind=kind,
            appointment_id=session.appointment_id if session else None,
            participant_id=session.participant_id if session else None,
            reason=answer.why_unanswered,
        )
        planned = None
        if answer.step is not None:
            planned = self._answer_send(reply, answer.step, session, answer.once_per_session)
        return int(self.store.record_reply(record, planned))

    def _answer_send(
        self, reply: InboundReply, step: str, session: Session | None, once_per_session: bool
    ) -> AnswerSend:
        """The answer as a send row. A link answer is keyed by the reply (one answer per
        LINK); an answer to any other words by the session (once per session)."""
        if session is not None and step == LINK_REPLY:
            revision = self._revision(session.appointment_id)
            expires = session.start + STARTED_GRACE
            tag = "asked" if once_per_session else f"reply-{reply.sid}"
            key = send_key(session.appointment_id, session.participant_id, step, "sms", 0, tag)
            return AnswerSend(
                key,
                step,
                session.appointment_id,
                session.participant_id,
                revision,
                self.now,
                expires,
                SESSION_AGAIN,
            )
        # No session to name: not about any appointment, keyed by the reply alone.
        key = send_key("", "", step, "sms", 0, f"reply-{reply.sid}")
        return AnswerSend(key, step, "", "", 0, self.now, self.now + ANSWER_LIFETIME, SESSION_AGAIN)

    def _revision(self, appointment_id: str) -> int:
        for known in self._window:
            if known.appointment.id == appointment_id:
                return known.revision
        return 0

    def _facts(self, number: str, kind: ReplyKind) -> Facts:
        health = self.store.health(number)
        owners = self._owners().get(number, [])
        last_about = frozenset(self.store.last_texted_about(number))
        sessions = [
            Session(known.appointment.id, pid, known.appointment.start) for known, pid in owners
        ]
        return Facts(
            texted_before=self.store.texted_before(number),
            opted_out=bool(health and health.opted_out),
            answered_recently=self.store.answered_since(number, self.now - ANSWER_GAP),
            clients=frozenset(pid for _, pid in owners) | last_about,
            last_about=last_about,
            sessions=sessions,
        )

    def _owners(self) -> dict[str, list[tuple[Known, str]]]:
        """Number -> the (session, participant) pairs of the answer window it belongs to
        (a group session lists each participant's own number)."""
        if self._numbers is None:
            self._numbers = {}
            country = self.config.practice.country
            for known in self._window:
                for participant in known.appointment.participants:
                    if participant.sms_opt_in is False:
                        continue
                    e164 = normalize_mobile(participant.mobile, country).e164
                    if e164:
                        self._numbers.setdefault(e164, []).append((known, participant.id))
        return self._numbers
