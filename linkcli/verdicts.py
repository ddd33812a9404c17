"""The send verdict for a stored send: the store's and config's facts turned into the
plain values `core.verdict.send_verdict` takes. `dispatch`, `preview` and `explain` all
judge a send through `Judge`, so "will this go, when, and why not" has one answer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from linkcli.compose import effective_link, reach_for
from linkcli.config import Config
from linkcli.core.messages import zone_for, zone_problem
from linkcli.core.replies import NO_SESSION
from linkcli.core.verdict import ContactState, Reach, SendFacts, Verdict, send_verdict, settle
from linkcli.store import Known, SendRow, Store, parse_ts


def contact_state(store: Store, address: str, channel: str) -> ContactState:
    """What the store knows of an address (opted out, unusable, texted before)."""
    health = store.health(address)
    return ContactState(
        opted_out=bool(health and health.opted_out),
        bad=bool(health and health.bad),
        reason=health.reason if health else None,
        texted_before=channel != "sms" or store.texted_before(address),
    )


def send_facts(row: SendRow) -> SendFacts:
    """A sends row as the verdict reads it."""
    retry = row.next_attempt_at
    return SendFacts(
        step=row.step,
        channel=row.channel,
        due_at=parse_ts(row.due_at),
        expires_at=parse_ts(row.expires_at),
        attempts=row.attempts,
        last_error=row.reason if row.attempts else None,
        next_attempt_at=parse_ts(retry) if retry else None,
        waited_for=None if row.attempts else row.reason,
    )


class Judge:
    """Verdicts for the sends of one run: the snapshot's age is read once."""

    def __init__(self, config: Config, store: Store, now: datetime) -> None:
        self.config = config
        self.store = store
        self.now = now
        self.good = store.last_good_sync()
        self._contacts: dict[tuple[str, str], ContactState] = {}

    @property
    def stale(self) -> bool:
        """The last good sync is too old to send links from."""
        return self.good is None or self.now - self.good > self.config.max_snapshot_age

    def contact(self, address: str, channel: str) -> ContactState:
        """The address's state, read once per run."""
        key = (address, channel)
        if key not in self._contacts:
            self._contacts[key] = contact_state(self.store, address, channel)
        return self._contacts[key]

    def forget(self, address: str, channel: str) -> None:
        """Read the address again next time (a send or a refusal changed it)."""
        self._contacts.pop((address, channel), None)

    def verdict(
        self,
        row: SendRow,
        known: Known | None,
        at: datetime | None = None,
        contact: ContactState | None = None,
    ) -> tuple[Verdict, Reach, ContactState]:
        """What happens to the stored send `row` at `at` (default: now)."""
        at = at or self.now
        appointment = known.appointment if known else None
        participant = appointment.participant(row.participant_id) if appointment else None
        reach = Reach(None)
        if row.step == NO_SESSION:
            reach = Reach(row.recipient)  # the number that asked, about no session
        elif participant is not None:
            reach = reach_for(self.config, participant, row.channel)
        if contact is None:
            contact = self.contact(reach.address, row.channel) if reach.address else ContactState()
        practice_zone = self.config.practice.timezone
        zone = zone_for(participant, practice_zone) if participant else ZoneInfo(practice_zone)
        link = effective_link(self.config, appointment) if appointment else None
        verdict = send_verdict(
            send_facts(row),
            appointment=appointment,
            current=known is not None and known.revision == row.revision,
            participant=participant,
            reach=reach,
            contact=contact,
            link_problem=self.config.links.check(link) if appointment else None,
            snapshot_age=(self.now - self.good) if self.good else None,
            max_snapshot_age=self.config.max_snapshot_age,
            quiet=self.config.sms.quiet_hours,
            zone=zone,
            now=at,
            zone_problem=zone_problem(participant) if participant else None,
        )
        return verdict, reach, contact

    def when(
        self, row: SendRow, known: Known | None, contact: ContactState | None = None
    ) -> tuple[datetime, Verdict]:
        """When the send will really go (its due time, the end of quiet hours, its next
        retry) and the verdict at that moment: what `preview` and `explain` show."""
        start = max(parse_ts(row.due_at), self.now)
        return settle(lambda at: self.verdict(row, known, at, contact)[0], start)
