"""`linkcli sync`: read the schedule, diff it against the snapshot, plan the sends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from linkcli.adapters import closing
from linkcli.compose import recipient_for
from linkcli.context import Context
from linkcli.core.diff import diff, vanish_refusal
from linkcli.core.reconcile import reconcile
from linkcli.errors import ExitCode, SourceError
from linkcli.shared import window_for
from linkcli.sources import open_source
from linkcli.sources.base import Listing, SkipsUnchanged
from linkcli.store import Store, ts


@dataclass
class SyncResult:
    """What one sync did."""

    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # new since the last sync
    adopted: bool = False
    planned: int = 0

    exit_code = ExitCode.OK  # a sync that fails raises instead

    def summary(self) -> dict[str, Any]:
        """What `sync --json` prints: the counts, every key always present."""
        return {
            **self.counts,
            "planned": self.planned,
            "adopted": self.adopted,
        }


def drop_unresolved(listing: Listing) -> Listing:
    """Participants a source could only name (id "") and no contacts directory resolved
    are reported, never stored: without an id they can get no sequence of their own."""
    kept = []
    for appointment in listing.appointments:
        unnamed = [p for p in appointment.participants if not p.id]
        if unnamed:
            for p in unnamed:
                listing.problems.append(
                    f"appointment {appointment.id!r}: client {p.name!r} is named but not "
                    "identified; add them to the [contacts] directory"
                )
            appointment = replace(
                appointment, participants=tuple(p for p in appointment.participants if p.id)
            )
        kept.append(appointment)
    listing.appointments = kept
    return listing


SYNC_PHASES = 4


def run_sync(
    ctx: Context,
    store: Store,
    force: bool = False,
    confirm_existing: bool = False,
    step: Callable[[str], None] = lambda _label: None,
) -> SyncResult:
    """One sync. A listing that fails or is refused changes nothing but the sync log.

    `step` is told as each of the SYNC_PHASES phases begins (a progress bar on a
    terminal)."""
    config, now = ctx.config, ctx.now
    step(f"reading the schedule ({config.source.kind})")
    window = window_for(ctx)
    source_name = config.source.kind
    try:
        source = open_source(config, ctx.env, now, client=ctx.http)
        index = store.index()
        if isinstance(source, SkipsUnchanged) and config.contacts_path is None:
            # Without a contacts directory a record that reads the same means the same.
            source.known_raw = {aid: row[4] for aid, row in index.items() if row[4]}
        with closing(source):
            listing = source.fetch(window)
        if config.contacts_path is not None:
            # Sources that lack phone/email (calendar feeds, Zoom) are joined to the
            # practice's contacts directory, which also holds channel preferences.
            from linkcli.sources.contacts import join_listing, load_directory

            listing = join_listing(listing, load_directory(config.contacts_path))
        listing = drop_unresolved(listing)
    except SourceError as exc:
        store.record_sync(now, ctx.now, source_name, ok=False, error=exc.message)
        raise
    step(f"comparing {len(listing.appointments)} appointments with the snapshot")
    # Compare digests first and parse only what changed or vanished: a no-change sync of
    # a large practice never loads its whole snapshot.
    changed = [a for a in listing.appointments if a.id not in index or index[a.id][0] != a.digest()]
    listed = {a.id for a in listing.appointments} | listing.unchanged_ids
    start_ts, end_ts, now_ts = ts(window.start), ts(window.end), ts(now)
    candidates = [
        aid
        for aid, (_d, status, start, _r, _raw) in index.items()
        if status == "scheduled" and start_ts <= start < end_ts and aid not in listed
    ]
    known = store.load([a.id for a in changed if a.id in index] + candidates)
    snapshot = {aid: k.appointment for aid, k in known.items()}
    result = diff(
        snapshot,
        changed,
        window.start,
        window.end,
        keep=listing.skipped_ids,
        complete=listing.complete,
    )
    upcoming = sum(
        1
        for _d, status, start, _r, _raw in index.values()
        if status == "scheduled" and now_ts <= start < end_ts
    )
    gone = sum(1 for aid in result.vanished if index[aid][2] >= now_ts)
    refusal = vanish_refusal(
        gone,
        upcoming,
        config.sync.vanish_ratio,
        config.sync.vanish_min,
        listed=len(listed | listing.listed_ids) + len(listing.skipped_ids),
    )
    if refusal and not force:
        store.record_sync(now, now, source_name, ok=False, error=refusal)
        raise SourceError(refusal)
    adopting = store.last_good_sync() is None and not confirm_existing
    known_problems = set(store.last_good_problems())
    changed_ids = [c.appointment_id for c in result.changes]
    step(f"planning messages for {len(changed_ids)} changed appointments")
    plan = reconcile(
        result,
        revisions={aid: index[aid][3] for aid in changed_ids if aid in index},
        pending=store.pending_of(changed_ids),
        sent=store.sent_messages(changed_ids),
        steps=config.sequence,
        now=now,
        adopting=adopting,
        link_changed=config.change_messages.link_changed,
        cancellation=config.change_messages.cancellation,
        zone=config.practice.timezone,
        reachable=lambda participant, channel: (
            recipient_for(config, participant, channel)[0] is not None
        ),
    )
    counts = {
        kind: result.count(kind)
        for kind in ("created", "rescheduled", "canceled", "updated", "restored")
    }
    counts["unchanged"] = (
        result.unchanged + len(listing.appointments) - len(changed) + len(listing.unchanged_ids)
    )
    counts["problems"] = len(listing.problems)
    counts["listed"] = len(listing.appointments) + len(listing.unchanged_ids)
    step(f"saving {len(plan.writes)} appointments and {len(plan.inserts)} messages")
    # One transaction: on any failure it rolls back and the snapshot is as it was.
    with store.atomic():
        store.apply_sync(plan, now)
        # Only records listed inside the window: one that left it (and so vanished) must
        # be read again when it comes back, to be restored.
        in_window = {a.id for a in listing.appointments}
        store.set_raw_digests(
            {
                aid: raw
                for aid, raw in listing.raw_digests.items()
                if aid in in_window
                and aid not in listing.skipped_ids
                and (aid not in index or index[aid][4] != raw)
            }
        )
        store.record_sync(now, now, source_name, ok=True, counts=counts, problems=listing.problems)
        store.purge(now - config.retention)
    # Cron mail carries a problem once, when it first appears; `status` lists it until
    # it is fixed.
    fresh = [p for p in listing.problems if p not in known_problems]
    return SyncResult(counts, fresh, adopting, len(plan.inserts))
