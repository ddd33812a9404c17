"""`linkcli dispatch`: send what is due now, exactly once, from the latest snapshot."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from linkcli.adapters import close as close_adapter
from linkcli.answers import Answers, replies_wanted
from linkcli.channels import open_email, open_sms
from linkcli.channels.base import (
    ChannelError,
    EmailMessage,
    FindsSent,
    ReadsReplies,
    ReportsDelivery,
    SendResult,
    SmsMessage,
)
from linkcli.compose import (
    Outcome,
    calendar_file,
    effective_link,
    render_no_session,
    render_send,
)
from linkcli.config import Config
from linkcli.context import Context
from linkcli.core.emailbody import to_html
from linkcli.core.optout import classify_reply, means_cancel
from linkcli.core.reconcile import CANCELLATION
from linkcli.core.replies import NO_SESSION
from linkcli.core.segments import count_segments
from linkcli.core.verdict import ContactState
from linkcli.errors import ExitCode, LinkcliError
from linkcli.pacing import Pacer
from linkcli.shared import mask
from linkcli.store import ClaimedMessage, Known, SendRow, Store, parse_ts, ts
from linkcli.verdicts import Judge
from linkcli.writeback import write_back

MAX_BACKOFF = timedelta(minutes=15)
POLL_EVERY = timedelta(minutes=5)


@dataclass
class DispatchResult:
    """What one dispatch did, by outcome."""

    sent: int = 0
    failed: int = 0
    retrying: int = 0
    skipped: int = 0
    canceled: int = 0
    waiting: int = 0
    given_up: int = 0
    stale: bool = False
    errors: list[str] = field(default_factory=list)  # failed or given up: exit 1
    retries: list[str] = field(default_factory=list)  # first failure of a retried send
    notes: list[str] = field(default_factory=list)  # could not act; tried next run

    @property
    def exit_code(self) -> ExitCode:
        """1 when a message failed or was given up this run, else 0. A send that failed
        and will be retried is not a failure yet: it is said once, with exit 0, so a
        minute-by-minute cron does not mail "failed" for what goes a minute later."""
        return ExitCode.SENDS_FAILED if self.failed or self.given_up else ExitCode.OK

    def counts(self) -> dict[str, int]:
        """What `--json` and `-v` report."""
        return {
            "sent": self.sent,
            "failed": self.failed,
            "retrying": self.retrying,
            "skipped": self.skipped,
            "canceled": self.canceled,
            "waiting": self.waiting,
            "given_up": self.given_up,
        }


class Dispatcher:
    """Sends due rows one by one: claim, record the attempt, call, record the outcome."""

    def __init__(
        self,
        ctx: Context,
        store: Store,
        pacer: Pacer | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        self.ctx = ctx
        self.pacer = pacer or Pacer(ctx.config.sms.max_per_second)
        self.stop = stop or (lambda: False)
        self.store = store
        self.config = ctx.config
        self.now = ctx.now
        self._sms: Any = None
        self._email: Any = None
        self._known: dict[str, Known | None] = {}
        self._sent_elsewhere: dict[tuple[str, str], SendResult] | None = None

    def run(self) -> DispatchResult:
        """Dispatch every due send; first settle what a crashed run left half-done, and
        read the clients' replies (STOP, LINK) before any text goes."""
        result = DispatchResult()
        # A claim outlives its attempt only by a crash: one attempt lasts at most the
        # channel's timeout (plus pacing and the store's own wait).
        timeout = max(self.config.sms.timeout, self.config.email.timeout)
        stranded = self.store.stranded(self.now, timedelta(seconds=timeout + 30))
        due = self.store.due_sends(self.now)
        to_refresh = self._awaiting_delivery()
        # Replies are read while a session is near even with nothing due, so a client
        # asking for the link is answered within the minute.
        want_replies = replies_wanted(self.config, self.store, self.now)
        if not (stranded or due or to_refresh or want_replies):
            return result  # the quiet cron tick: no provider library is loaded
        self.judge = Judge(self.config, self.store, self.now)
        result.stale = self.judge.stale
        try:
            for row in stranded:
                self._recover(row, result)
            answers = 0
            if want_replies or any(row.channel == "sms" for row in due):
                answers = self._read_replies()
            for row in self.store.due_sends(self.now) if stranded or answers else due:
                if self.stop():
                    break  # SIGTERM in watch mode: the claimed send before this finished
                self._one(row, result)
            if to_refresh:
                self._refresh_delivery(self._awaiting_delivery())
        finally:
            for channel in (self._email, self._sms):
                close_adapter(channel)
        return result

    def _sms_channel(self) -> Any:
        if self._sms is None:
            self._sms = open_sms(self.config.sms, self.ctx.env)
        return self._sms

    def _recover(self, row: SendRow, result: DispatchResult) -> None:
        """A send left in 'sending' by a run that died mid-call. For SMS, ask the provider
        whether the message got through (Twilio's message list) and record it instead of
        sending again; otherwise put it back to pending, to go while its window is open."""
        now, store = self.now, self.store
        found = None
        sms = self._sms_channel() if row.channel == "sms" else None
        finder = sms.find_sent if isinstance(sms, FindsSent) else None
        if finder and row.recipient and row.body:
            since = parse_ts(row.updated_at) - timedelta(minutes=10)
            try:
                found = finder(row.recipient, since, row.body)
            except Exception as exc:  # the provider cannot say whether it has the message
                permanent = isinstance(exc, ChannelError) and exc.permanent
                if not permanent and now < parse_ts(row.expires_at):
                    # Never resend blind while the answer may still come: ask again next run.
                    reason = exc.reason if isinstance(exc, ChannelError) else type(exc).__name__
                    result.notes.append(
                        f"could not check a half-done send ({reason}); it waits for the next run"
                    )
                    return
                # The provider cannot list messages at all (or the moment passed): the
                # send is settled below like one that never reached it.
        if found is not None:
            if store.mark_found(
                row.id,
                now,
                found.provider_id,
                found.status,
                row.updated_at,
                "recovered after an interrupted run",
            ):
                result.sent += 1
        else:
            store.release_to_pending(row.id, now, "retried after an interrupted run")

    def _read_replies(self) -> int:
        """Honour STOP/START replies before the next text, without a webhook server; store
        every new reply and plan its answer (a LINK). How many replies were new."""
        sms = self._sms_channel()
        if not isinstance(sms, ReadsReplies):
            return 0
        reader = sms.inbound_since
        last = self.store.meta("replies_read_at")
        since = parse_ts(last) - timedelta(minutes=5) if last else self.now - timedelta(days=7)
        try:
            replies = reader(since)
        except Exception:  # a failed read is no reason to stop sending; tried next run
            return 0
        for reply in replies:
            verdict = classify_reply(reply.body)
            if verdict == "opt_out":
                self.store.set_health(
                    reply.from_number,
                    "sms",
                    self.now,
                    opted_out=1,
                    reason=f"client replied {reply.body.strip().upper()}",
                )
                if means_cancel(reply.body):
                    self._cancel_notice(reply.from_number, reply.sid)
            elif verdict == "opt_in":
                self.store.set_health(reply.from_number, "sms", self.now, opted_out=0, reason=None)
        new = Answers(self.config, self.store, self.now).record(replies)
        self.store.set_meta("replies_read_at", ts(self.now))
        return new

    def _cancel_notice(self, number: str, sid: str) -> None:
        """An inbound CANCEL may mean the session: tell a human, naming the session."""
        appointment, participant = self.store.last_texted(number) or (None, None)
        self.store.add_notice(
            f"inbound-cancel/{sid}",
            appointment,
            participant,
            "inbound_cancel",
            f"client {mask('sms', number)} replied CANCEL: texts stopped (Twilio treats it as "
            "an opt-out); they may also mean to cancel their session",
            "call the client; if they meant the session, cancel it in the schedule; they "
            "can reply START to get texts again",
            self.now,
        )

    def _awaiting_delivery(self) -> list[SendRow]:
        if self.config.sms.provider != "twilio":
            return []
        # Each text is polled at most every few minutes, for two days, until its status is
        # final: a busy practice never spends a request per text per cron minute.
        return self.store.awaiting_delivery(self.now - timedelta(days=2), self.now - POLL_EVERY)

    def _refresh_delivery(self, rows: list[SendRow]) -> None:
        """Move sent texts to delivered or failed from the provider's final status."""
        sms = self._sms_channel()
        if not isinstance(sms, ReportsDelivery):
            return
        poll = sms.delivery_status
        for row in rows:
            if row.provider_id is None:  # the store lists only rows that have one
                continue
            try:
                status, code = poll(row.provider_id)
            except Exception:  # a status poll is bookkeeping: never costs a send
                return
            if status == "delivered":
                self.store.advance_delivery(row.id, "delivered", status, None, self.now)
            elif status in ("undelivered", "failed"):
                reason = f"not delivered ({status}" + (f", error {code})" if code else ")")
                self.store.advance_delivery(row.id, "failed", status, code, self.now, reason)
                if not row.recipient:
                    continue
                kind = sms.classify(code)  # the channel's own list, as at send time
                if kind == "opted_out":
                    self.store.set_health(
                        row.recipient,
                        "sms",
                        self.now,
                        opted_out=1,
                        reason="client opted out (carrier: unsubscribed)",
                    )
                elif kind == "bad_contact":
                    self.store.set_health(
                        row.recipient,
                        "sms",
                        self.now,
                        bad=1,
                        reason=f"number cannot receive texts ({reason})",
                    )
            else:
                self.store.note_delivery(row.id, self.now, status)

    def _known_for(self, appointment_id: str) -> Known | None:
        if appointment_id not in self._known:
            self._known[appointment_id] = self.store.appointment(appointment_id)
        return self._known[appointment_id]

    def _one(self, row: SendRow, result: DispatchResult) -> None:
        """Act on the send verdict: the one rule `preview` and `explain` show too."""
        now, store = self.now, self.store
        known = self._known_for(row.appointment_id)
        verdict, reach, contact = self.judge.verdict(row, known)
        if verdict.action == "go":
            if reach.address and (known is not None or row.step == NO_SESSION):
                self._send(row, known, reach.address, contact, result)
        elif verdict.action == "wait":
            # A retried send keeps its last error, which a give-up will name. Held to a
            # known moment (quiet hours), it is not looked at again before then.
            reason = (row.reason if row.attempts else verdict.reason) or "waiting"
            until = verdict.until if verdict.until and verdict.until > now else None
            store.note_waiting(row.id, now, reason, until)
            result.waiting += 1
        elif verdict.action == "cancel":
            store.cancel(row.id, now, verdict.reason or "canceled")
            result.canceled += 1
        elif verdict.action == "skip":
            store.skip(row.id, now, verdict.reason or "skipped", recipient=reach.address)
            result.skipped += 1
        else:  # give up: linkcli failed this client, and says so
            store.mark_failed(row.id, now, f"gave up: {verdict.reason}")
            result.given_up += 1
            result.errors.append(
                f"{row.step} {row.channel} for {row.appointment_id} given up: {verdict.reason}"
            )

    def _send(
        self,
        row: SendRow,
        known: Known | None,
        address: str,
        contact: ContactState,
        result: DispatchResult,
    ) -> None:
        now, store = self.now, self.store
        if row.step == NO_SESSION:
            # About no session: rendered in the language of the client last texted.
            rendered = render_no_session(self.config, self._language_of(address))
        elif known is None or not (found := known.appointment.participant(row.participant_id)):
            return  # the verdict never says go without one
        else:
            participant = found
            # Rendered here for the address the verdict judged (compose would look it up
            # again: a phone number parse per text).
            rendered = render_send(
                self.config,
                known.appointment,
                participant,
                row.step,
                row.channel,
                now,
                effective_link(self.config, known.appointment) or "",
                first_text=row.channel == "sms" and not contact.texted_before,
            )
        seg = count_segments(rendered.body) if row.channel == "sms" else None
        outcome = Outcome(address, rendered, seg)
        self.judge.forget(address, row.channel)  # it has been texted now
        # Claim, the message as it goes, and the attempt row: one transaction before the
        # provider call, so a crash leaves a 'sending' row that the next run settles.
        message = ClaimedMessage(
            address,
            rendered.body,
            rendered.subject,
            seg.segments if seg else None,
            seg.encoding if seg else None,
        )
        attempt = store.claim(row.id, now, message)
        if attempt is None:
            return  # another run took it
        if self._sent_before_store(row, message):
            result.sent += 1
            return
        try:
            if row.channel == "sms":
                self.pacer.wait()
                sent = self._sms_channel().send(SmsMessage(address, rendered.body, row.key))
            else:
                if self._email is None:
                    self._email = open_email(self.config.email, self.ctx.env)
                sent = self._email.send(self._email_message(row, known, outcome))
        except ChannelError as exc:
            self._failed(row, attempt, exc, result)
            return
        except Exception as exc:  # an adapter bug must not strand the row in 'sending'
            # Its text may quote the recipient (a library's own message): masked.
            masked = mask(row.channel, address) or "?"
            text = str(exc).replace(address, masked)
            self._failed(
                row, attempt, ChannelError(f"unexpected error: {text}", kind="transient"), result
            )
            return
        store.mark_sent(row.id, attempt, now, sent.provider_id, sent.status, sent.segments)
        result.sent += 1

    def _sent_before_store(self, row: SendRow, message: ClaimedMessage) -> bool:
        """A new store does not know what a deleted one sent: before its first text to a
        number that was due before the store existed, look the message up in the
        provider's list, as after a crash, and record it as sent instead of sending it
        again. One listing serves the whole run (rows come soonest first)."""
        if row.channel != "sms" or not self.store.due_before_creation(row.due_at):
            return False
        if self.store.texted_before(message.recipient, other_than=row.id):
            return False
        if self._sent_elsewhere is None:
            self._sent_elsewhere = {}
            sms = self._sms_channel()
            lister = sms.sent_since if isinstance(sms, FindsSent) else None
            # A list that cannot be read is no reason to hold texts: they go, as from a
            # store that is not new.
            with contextlib.suppress(Exception):
                if lister is not None:
                    self._sent_elsewhere = lister(parse_ts(row.due_at) - timedelta(minutes=10))
        found = self._sent_elsewhere.get((message.recipient, message.body))
        if found is None:
            return False
        return self.store.mark_found(
            row.id,
            self.now,
            found.provider_id,
            found.status,
            None,
            "already sent before this database was created",
        )

    def _language_of(self, number: str) -> str | None:
        """The language of the client this number was last texted about (None: unknown)."""
        last = self.store.last_texted(number)
        known = self._known_for(last[0]) if last else None
        participant = known.appointment.participant(last[1]) if known and last else None
        return participant.language if participant else None

    def _email_message(self, row: SendRow, known: Known | None, outcome: Outcome) -> EmailMessage:
        participant = known.appointment.participant(row.participant_id) if known else None
        if known is None or outcome.message is None or outcome.recipient is None:
            raise LinkcliError(f"internal error: no email composed for send {row.key}")
        if participant is None:
            raise LinkcliError(f"internal error: no email composed for send {row.key}")
        method = "CANCEL" if row.step == CANCELLATION else "REQUEST"
        ics = calendar_file(
            self.config, known.appointment, participant, known.sequence, self.now, method
        )
        return EmailMessage(
            to=outcome.recipient,
            to_name=participant.name,
            subject=outcome.message.subject or "",
            text=outcome.message.body,
            html=to_html(outcome.message.body, links=_checked_links(self.config, known)),
            key=row.key,
            ics=ics,
            ics_method=method,
        )

    def _failed(
        self, row: SendRow, attempt: int, exc: ChannelError, result: DispatchResult
    ) -> None:
        now, store = self.now, self.store
        store.finish_attempt(attempt, now, exc.kind, error=exc.reason)
        claimed = store.send(row.id)
        address = claimed.recipient if claimed else None
        who = mask(row.channel, address) or "?"
        line = f"{row.step} {row.channel} to {who} for {row.appointment_id}: {exc.reason}"
        if exc.fatal:
            # Credentials refused: every further send would fail the same way.
            store.release_to_pending(row.id, now, exc.reason, attempts=row.attempts)
            raise LinkcliError(f"{exc.reason}; sends left pending", ExitCode.SENDS_FAILED)
        if exc.permanent:
            store.mark_failed(row.id, now, exc.reason, error_code=exc.code)
            if exc.kind == "opted_out" and address:
                store.set_health(
                    address,
                    row.channel,
                    now,
                    opted_out=1,
                    reason="client opted out (provider refused: unsubscribed)",
                )
            elif exc.kind == "bad_contact" and address:
                store.set_health(address, row.channel, now, bad=1, reason=exc.reason)
            result.failed += 1
        elif exc.unanswered and row.channel == "sms":
            # Left in 'sending': the next run asks the provider's message list whether it
            # arrived (as after a crash) before anything is sent again.
            store.keep_sending(row.id, now, exc.reason)
            self._retrying(row, line, result)
            return
        else:
            attempts = row.attempts + 1
            delay = min(MAX_BACKOFF, timedelta(minutes=2 ** (attempts - 1)))
            store.release_to_pending(
                row.id, now, exc.reason, error_code=exc.code, retry_at=now + delay
            )
            self._retrying(row, line, result)
            return
        result.errors.append(line)

    @staticmethod
    def _retrying(row: SendRow, line: str, result: DispatchResult) -> None:
        """Counted every time; said once, at the send's first failure: a retry that
        works needs no one, and one that never does is reported when given up."""
        result.retrying += 1
        if not row.attempts:
            result.retries.append(line)


def run_dispatch(
    ctx: Context, store: Store, stop: Callable[[], bool] | None = None
) -> DispatchResult:
    """Send everything due at `ctx.now` (stopping early when `stop()` turns true), then
    record what went on the EHR when write-back is on (after the sends: a failing EHR
    never holds or repeats a message)."""
    result = Dispatcher(ctx, store, stop=stop).run()
    result.notes += write_back(ctx, store, stop).notes
    return result


def _checked_links(config: Config, known: Known) -> set[str]:
    """The one URL an email may make clickable: the session link the policy allowed."""
    link = effective_link(config, known.appointment)
    return {link} if link and config.links.check(link) is None else set()
