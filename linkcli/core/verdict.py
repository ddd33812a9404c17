"""The send verdict: what happens to one planned message at one moment, and why.

`dispatch` acts on it, `preview` and `explain` show it; all three call `send_verdict`,
so they can never disagree. Pure: plain values and a moment in, a `Verdict` out.

Five outcomes:
- go: send it now.
- wait: not now; `until` says when it may go (None: when a human or a sync fixes it).
- skip: never, and quietly: the client chose it (opted out, email only) or nothing can
  change by waiting. Not a failure.
- cancel: the send no longer belongs to the session (moved, cancelled, client removed).
- give up: never, and loudly: linkcli failed the client (refused link, no usable
  contact, snapshot too old, no run came in time, retries ran out). The run that gives
  it up says so on stderr and exits 1 ("Nothing fails in silence", DESIGN.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from linkcli.core.model import Appointment, Participant
from linkcli.core.reconcile import CANCELLATION
from linkcli.core.replies import NO_SESSION

Action = Literal["go", "wait", "skip", "cancel", "give_up"]


@dataclass(frozen=True)
class ContactState:
    """What linkcli learned about one address: opted out, unusable, texted before."""

    opted_out: bool = False
    bad: bool = False
    reason: str | None = None
    texted_before: bool = True


@dataclass(frozen=True)
class Reach:
    """Whether a participant can be reached on a channel, and if not whether by choice.

    `chosen` marks the client's own decision (no consent to texts, no mobile given):
    such a send is skipped quietly. Anything else (a number that is not a number) is
    linkcli failing the client and is given up loudly."""

    address: str | None
    problem: str | None = None
    chosen: bool = True


@dataclass(frozen=True)
class QuietHours:
    """A half-open span of wall-clock time, [start, end), in the client's zone; it may
    run over midnight (21:00-08:00)."""

    start: time
    end: time

    def ends_after(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """When the quiet span that holds `moment` ends (UTC), or None outside one."""
        local = moment.astimezone(zone)
        wall = local.time().replace(tzinfo=None)
        day = local.date()
        if self.start < self.end:
            inside = self.start <= wall < self.end
            end_day = day
        else:  # over midnight: the evening part ends tomorrow morning
            inside = wall >= self.start or wall < self.end
            end_day = day + timedelta(days=1) if wall >= self.start else day
        if not inside:
            return None
        return _instant(end_day, self.end, zone)


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The instant a wall clock in `zone` shows `wall` on `day` (a time skipped by a DST
    change counts as the moment just after the jump)."""
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


QUIET = "quiet hours"
_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_quiet_hours(text: str) -> QuietHours | None:
    """`"21:00-08:00"` -> QuietHours; `""` -> None (off). ValueError names the problem."""
    if not text.strip():
        return None
    match = _QUIET.match(text)
    if not match:
        raise ValueError(f'expected "HH:MM-HH:MM" (e.g. "21:00-08:00") or "", not {text!r}')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"{text!r} is not a time of day span (00:00 to 23:59)")
    start, end = time(h1, m1), time(h2, m2)
    if start == end:
        raise ValueError(f'{text!r} is an empty span; use "" to turn quiet hours off')
    return QuietHours(start, end)


@dataclass(frozen=True)
class SendFacts:
    """The stored send: its step, channel, window and attempts."""

    step: str
    channel: str
    due_at: datetime
    expires_at: datetime
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    waited_for: str | None = None  # why an earlier run held it (a link since fixed)


@dataclass(frozen=True)
class Verdict:
    """What happens to a send, and why; `until` is when a waiting send may go."""

    action: Action
    reason: str | None = None
    until: datetime | None = None

    @property
    def loud(self) -> bool:
        """A give-up is reported on stderr with exit 1; nothing else is."""
        return self.action == "give_up"


def send_verdict(
    send: SendFacts,
    *,
    appointment: Appointment | None,
    current: bool,
    participant: Participant | None,
    reach: Reach,
    contact: ContactState,
    link_problem: str | None,
    snapshot_age: timedelta | None,
    max_snapshot_age: timedelta,
    quiet: QuietHours | None,
    zone: ZoneInfo,
    now: datetime,
    zone_problem: str | None = None,
) -> Verdict:
    """What happens to `send` at `now`.

    `current` is False when the session has a newer revision than the send's;
    `snapshot_age` is the age of the last good sync (None: never synced);
    `link_problem` is the link policy's refusal, if any; `zone` the client's zone;
    `zone_problem` says why the client's own zone cannot be used (never guessed).
    """
    # The answer to a reply about no session names none: only the number and the hour
    # can hold it (an opt-out, quiet hours), never a session's state or link.
    about_session = send.step != NO_SESSION
    if about_session:
        if appointment is None or not current:
            return Verdict("cancel", "superseded by a newer schedule")
        if participant is None:
            return Verdict("cancel", "participant removed")
        if send.step == CANCELLATION:
            if appointment.status != "canceled":
                return Verdict("cancel", "session is no longer canceled")
        elif not appointment.is_live_telehealth:
            return Verdict("cancel", f"session is {appointment.status} / {appointment.format}")
    stale = about_session and (snapshot_age is None or snapshot_age > max_snapshot_age)
    link = None if send.step == CANCELLATION or not about_session else link_problem
    link = f"link refused: {link}" if link else None
    blocker = _blocker(reach, contact, link or zone_problem, stale, snapshot_age)
    if now >= send.expires_at:
        return _too_late(send, reach, contact, blocker)
    if blocker is not None:
        return Verdict(*blocker)
    if now < send.due_at:
        return _held(send, send.due_at, quiet, zone, "not due yet")
    if send.attempts and send.next_attempt_at is not None and now < send.next_attempt_at:
        why = f"retrying after {send.attempts} failed attempt(s): {send.last_error or 'error'}"
        return Verdict("wait", why, send.next_attempt_at)
    return _held(send, now, quiet, zone, None)


def _blocker(
    reach: Reach,
    contact: ContactState,
    held: str | None,
    stale: bool,
    age: timedelta | None,
) -> tuple[Action, str] | None:
    """What stops the send whatever the time: (action, reason), or None."""
    if stale:
        since = "ever" if age is None else f"for {_span(age)}"
        return "wait", f"the snapshot is too old (no successful sync {since})"
    if held:
        return "wait", held
    if reach.address is None:
        return ("skip" if reach.chosen else "give_up"), reach.problem or "no address"
    if contact.opted_out:
        return "skip", contact.reason or "client opted out (replied STOP)"
    if contact.bad:
        # The refusal that taught us this was reported (exit 1) when it came; from then
        # on the client is email only, listed under `attention`, like a number that was
        # never valid.
        return "skip", contact.reason or "address cannot receive messages"
    return None


def _too_late(
    send: SendFacts, reach: Reach, contact: ContactState, blocker: tuple[Action, str] | None
) -> Verdict:
    """The window closed while the send was pending: name the real reason. What the
    client chose is checked first: had linkcli run in time, nothing would have gone."""
    if reach.address is None and reach.chosen:
        return Verdict("skip", reach.problem or "no address")
    if contact.opted_out or contact.bad:
        return Verdict("skip", contact.reason or "the client cannot receive it")
    if send.attempts:
        return Verdict(
            "give_up",
            f"its moment passed after {send.attempts} failed attempt(s): "
            f"{send.last_error or 'error'}",
        )
    if blocker is not None:
        return Verdict("give_up", blocker[1])
    if send.waited_for and send.waited_for != QUIET:
        return Verdict("give_up", f"{send.waited_for} until its window passed")
    return Verdict(
        "give_up", "its window passed while it was due: no run came in time (is cron running?)"
    )


def _held(
    send: SendFacts, at: datetime, quiet: QuietHours | None, zone: ZoneInfo, why: str | None
) -> Verdict:
    """Go at `at`, unless quiet hours hold a text then: it waits for their end, unless
    its window closes at or before that end (then it goes when due, better than never)."""
    if send.channel == "sms" and quiet is not None:
        ends = quiet.ends_after(at, zone)
        if ends is not None and send.expires_at > ends:
            return Verdict("wait", QUIET, ends)
    if why is not None:
        return Verdict("wait", why, at)
    return Verdict("go")


def _span(age: timedelta) -> str:
    hours = int(age.total_seconds() // 3600)
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def settle(verdict_at: Callable[[datetime], Verdict], start: datetime) -> tuple[datetime, Verdict]:
    """The moment a send will really go, and the verdict then: follows each `wait`
    that names its end (not due yet, quiet hours, a retry) a few times at most."""
    at = start
    verdict = verdict_at(at)
    for _ in range(4):
        if verdict.action != "wait" or verdict.until is None or verdict.until <= at:
            break
        at = verdict.until
        verdict = verdict_at(at)
    return at, verdict
