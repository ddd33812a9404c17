"""FHIR write-back: every message linkcli sends is recorded on the EHR as one R4
`Communication` (`[source] write_back = true` on a `fhir` source; DESIGN.md, "Delivery
record back to the EHR (FHIR)").

Runs after each dispatch's sends, so a slow or failing EHR never holds or repeats a
message. Each record is a `write_backs` row (one per send, unique) claimed like a send:
pending -> posting -> written, or back to pending with a growing delay after a failed
POST. A run that dies mid-POST leaves a `posting` row; the next run posts it again as a
conditional create on the send's identifier, which finds the record instead of adding a
second one. After repeated failures the record is an `attention` item in `status`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from linkcli.context import Context
from linkcli.core.fhir_record import communication, if_none_exist
from linkcli.errors import LinkcliError
from linkcli.store import Store, parse_ts, ts

ATTENTION_AFTER = 3  # failed POSTs before a record shows under `attention`
MAX_DELAY = timedelta(hours=1)  # a failing EHR is asked again at least this often
SINCE_KEY = "write_back_since"


@dataclass
class WriteBackResult:
    """What one pass wrote, and what it could not (said with -v; `status` shows it)."""

    written: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)


def enabled(ctx: Context) -> bool:
    """Whether this practice writes its messages back to a FHIR EHR."""
    source = ctx.config.source
    return source.kind == "fhir" and source.settings.get("write_back") is True


def write_back(
    ctx: Context, store: Store, stop: Callable[[], bool] | None = None
) -> WriteBackResult:
    """Record every message sent since write-back was turned on that has no record yet.

    Only messages sent from the first run with write-back on are recorded: turning it on
    does not post a practice's whole history to its EHR at once."""
    result = WriteBackResult()
    if not enabled(ctx):
        return result
    now = ctx.now
    since = store.meta(SINCE_KEY)
    if since is None:
        since = ts(now)
        store.set_meta(SINCE_KEY, since)
    with store.atomic():
        store.enqueue_write_backs(parse_ts(since), now)
        for row in store.stranded_write_backs():
            # Its run died mid-POST: posted again at once, conditionally (never twice).
            store.retry_write_back(row.id, now, None, None)
    due = store.due_write_backs(now)
    if not due:
        return result  # nothing to post: no HTTP library is loaded
    from linkcli.sources.fhir import build

    try:
        source = build(ctx.config, ctx.env, now, client=ctx.http)
    except LinkcliError as exc:
        result.notes.append(f"write-back waits: {exc.message}")
        return result
    try:
        for row in due:
            if stop is not None and stop():
                break  # SIGTERM under `run --watch`: the rest wait for the next start
            if not store.claim_write_back(row.id, now):
                continue  # another run took it
            sent = parse_ts(row.sent_at) if row.sent_at else now
            record = communication(
                row.key, row.appointment_id, row.participant_id, row.channel, sent
            )
            try:
                resource_id = source.record(record, if_none_exist(row.key))
            except LinkcliError as exc:
                delay = min(MAX_DELAY, timedelta(minutes=2**row.attempts))
                store.retry_write_back(row.id, now, exc.message, now + delay)
                result.failed += 1
                result.notes.append(
                    f"write-back of {row.step} {row.channel} for {row.appointment_id} "
                    f"failed ({exc.message}); retried from {ts(now + delay)}"
                )
                # The server is likely down or refusing: the rest wait for the next run
                # rather than each waiting out the same timeout now.
                break
            store.mark_written(row.id, now, resource_id)
            result.written += 1
    finally:
        source.close()
    return result
