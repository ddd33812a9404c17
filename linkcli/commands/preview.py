"""`linkcli preview`: every planned message of the next days, exactly as it will go."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from linkcli.compose import compose, language_note, therapist_shown
from linkcli.context import Context
from linkcli.core.messages import zone_for
from linkcli.core.segments import count_segments
from linkcli.core.when import people_time
from linkcli.shared import iso, mask
from linkcli.store import Store, parse_ts, ts
from linkcli.verdicts import Judge


def build_preview(
    ctx: Context, store: Store, days: int = 7, therapist: str | None = None
) -> list[dict[str, Any]]:
    """One object per planned message due in the next `days` days, at the moment it
    will really go (quiet hours and retries included), exactly as it will go."""
    config, now = ctx.config, ctx.now
    rows = store.pending_before(now + timedelta(days=days))
    judge = Judge(config, store, now)
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
        _verdict, reach, contact = judge.verdict(row, known)
        if reach.address in texted:
            contact = replace(contact, texted_before=True)
        # The real moment it goes: its due time, or the end of quiet hours, or its retry.
        at, verdict = judge.when(row, known, contact)
        if verdict.action in ("cancel",) or at >= parse_ts(row.expires_at):
            continue
        if verdict.action == "go" and row.channel == "sms" and reach.address:
            texted.add(reach.address)
        outcome = compose(config, appt, participant, row.step, row.channel, at, contact)
        message = outcome.message
        # Email has no segments to pay for; its counts describe the text all the same,
        # so every object carries the same keys.
        seg = outcome.segments or (count_segments(message.body) if message else None)
        warnings = []
        if verdict.action != "go" and verdict.reason:
            warnings.append(verdict.reason)
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
                # For people: the client's own zone, as the message will read it.
                "due_local": people_time(
                    at, zone_for(participant, config.practice.timezone), now, zone_name=True
                ),
                "client": participant.short_name,
                "therapist_shown": therapist_shown(config, appt),
                "step": row.step,
                "channel": row.channel,
                "appointment": aid,
                "participant": participant.id,
                "therapist": appt.therapist.id,
                "recipient": mask(row.channel, outcome.recipient),
                "action": ACTIONS[verdict.action],
                "subject": message.subject if message else None,
                "body": message.body if message else None,
                "encoding": seg.encoding if seg else None,
                "segments": seg.segments if seg else None,
                "warnings": warnings,
            }
        )
    out.sort(key=lambda item: item["due"])  # by the moment each really goes (stable)
    return out


# How preview names a verdict (its JSON has said "send" since the first release).
ACTIONS = {"go": "send", "wait": "wait", "skip": "skip", "cancel": "cancel", "give_up": "give up"}
