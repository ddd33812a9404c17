"""`linkcli preview`: every planned message of the next days, exactly as it will go."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from linkcli.commands.dispatch import contact_state
from linkcli.commands.status import iso, mask
from linkcli.commands.sync import run_sync
from linkcli.compose import ContactState, compose, language_note
from linkcli.context import Context
from linkcli.core.segments import count_segments
from linkcli.store import Store, parse_ts, ts


def build_preview(
    ctx: Context, store: Store, days: int = 7, therapist: str | None = None
) -> list[dict[str, Any]]:
    """One object per planned message due in the next `days` days.

    A store that has never synced is previewed from a throw-away sync of the source, so
    a new install can look ahead before anything is written or sent.
    """
    if store.last_good_sync() is None:
        with tempfile.TemporaryDirectory(prefix="linkcli-preview-") as tmp:
            scratch = Store.open(Path(tmp) / "preview.db")
            try:
                run_sync(ctx, scratch)
                return _preview(ctx, scratch, days, therapist)
            finally:
                scratch.close()
    return _preview(ctx, store, days, therapist)


def _preview(ctx: Context, store: Store, days: int, therapist: str | None) -> list[dict[str, Any]]:
    config, now = ctx.config, ctx.now
    rows = store.pending_before(now + timedelta(days=days))
    texted: set[str] = set()  # numbers that get their first text earlier in this preview
    out: list[dict[str, Any]] = []
    snapshot: dict[str, Any] = {}
    for row in rows:
        aid = row.appointment_id
        if aid not in snapshot:
            snapshot[aid] = store.appointment(aid)
        known = snapshot[aid]
        if known is None or known.revision != row.revision:
            continue
        appt = known.appointment
        if therapist and appt.therapist.id != therapist:
            continue
        participant = appt.participant(row.participant_id)
        if participant is None:
            continue
        at = max(parse_ts(row.due_at), now)
        if at >= parse_ts(row.expires_at):
            continue
        outcome = compose(config, appt, participant, row.step, row.channel, at)
        contact = ContactState()
        if outcome.recipient:
            contact = contact_state(store, outcome.recipient, row.channel)
            if outcome.recipient in texted:
                contact = ContactState(contact.opted_out, contact.bad, contact.reason, True)
            outcome = compose(config, appt, participant, row.step, row.channel, at, contact)
        if outcome.action == "send" and row.channel == "sms" and outcome.recipient:
            texted.add(outcome.recipient)
        message = outcome.message
        # Email has no segments to pay for; its counts describe the text all the same,
        # so every object carries the same keys.
        seg = outcome.segments or (count_segments(message.body) if message else None)
        warnings = []
        if outcome.reason:
            warnings.append(outcome.reason)
        if note := language_note(config, appt, participant, row.step, row.channel):
            warnings.append(note)
        if row.channel == "sms" and seg and seg.encoding == "UCS-2":
            warnings.append(
                "UCS-2 because of "
                + " ".join(repr(c) for c in seg.non_gsm)
                + ": each segment holds 70 characters instead of 160"
            )
        if row.channel == "sms" and seg and seg.segments > 1:
            warnings.append(f"{seg.segments} segments: billed as {seg.segments} messages")
        out.append(
            {
                "due": iso(ts(at)),
                "step": row.step,
                "channel": row.channel,
                "appointment": aid,
                "participant": participant.id,
                "therapist": appt.therapist.id,
                "recipient": mask(row.channel, outcome.recipient),
                "action": outcome.action,
                "subject": message.subject if message else None,
                "body": message.body if message else None,
                "encoding": seg.encoding if seg else None,
                "segments": seg.segments if seg else None,
                "warnings": warnings,
            }
        )
    return out
