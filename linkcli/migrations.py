"""Append-only numbered schema migrations. Never edit one that has shipped; add the next."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("linkcli")


@migrations(name="0001_initial")
def m0001_initial(db: Database) -> None:
    """Snapshot, sends with their state machine, attempts, sync log, notices, contacts."""
    db["appointments"].create(
        {
            "id": str,
            "revision": int,
            "sequence": int,  # the calendar file's SEQUENCE: raised on every change
            "status": str,
            "start": str,
            "digest": str,
            "data": str,
            "first_seen": str,
            "changed_at": str,
        },
        pk="id",
    )
    db["appointments"].create_index(["start"])
    db["sends"].create(
        {
            "id": int,
            "key": str,
            "appointment_id": str,
            "participant_id": str,
            "step": str,
            "channel": str,
            "revision": int,
            "due_at": str,
            "expires_at": str,
            "state": str,
            "reason": str,
            "recipient": str,
            "subject": str,
            "body": str,
            "segments": int,
            "encoding": str,
            "provider_id": str,
            "provider_status": str,
            "error_code": str,
            "attempts": int,
            "next_attempt_at": str,
            "created_at": str,
            "updated_at": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"key", "appointment_id", "participant_id", "step", "channel", "state"},
        defaults={"attempts": 0},
    )
    # The database, not luck, prevents a duplicate: one row per participant x step x
    # channel x revision of the appointment.
    db["sends"].create_index(["key"], unique=True)
    db["sends"].create_index(["state", "due_at"])
    db["sends"].create_index(["appointment_id"])
    db["attempts"].create(
        {
            "id": int,
            "send_id": int,
            "started_at": str,
            "finished_at": str,
            "outcome": str,
            "provider_id": str,
            "error": str,
        },
        pk="id",
        foreign_keys=[("send_id", "sends", "id")],
    )
    db["syncs"].create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "ok": int,
            "source": str,
            "counts": str,
            "problems": str,
            "error": str,
        },
        pk="id",
    )
    db["notices"].create(
        {
            "key": str,
            "appointment_id": str,
            "participant_id": str,
            "kind": str,
            "reason": str,
            "fix": str,
            "created_at": str,
            "active": int,
        },
        pk="key",
    )
    db["contact_health"].create(
        {
            "address": str,
            "channel": str,
            "opted_out": int,
            "bad": int,
            "reason": str,
            "updated_at": str,
        },
        pk="address",
    )
    db["meta"].create({"key": str, "value": str}, pk="key")


@migrations(name="0002_sends_by_recipient")
def m0002_sends_by_recipient(db: Database) -> None:
    """Dispatch asks "was this number ever texted?" before each first text; an index keeps
    that a lookup instead of a scan of the whole history."""
    db["sends"].create_index(["recipient", "channel"])


@migrations(name="0003_raw_digest")
def m0003_raw_digest(db: Database) -> None:
    """A fingerprint of each source record as read, so a no-change sync of a large file
    source skips parsing the records it has already seen."""
    db["appointments"].add_column("raw_digest", str)
