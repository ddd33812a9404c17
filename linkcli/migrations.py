"""Append-only numbered schema migrations. Never edit one that has shipped; add the next."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("linkcli")


@migrations(name="0001_initial")
def m0001_initial(db: Database) -> None:
    """Snapshot, sends with their state machine, attempts, sync log, notices, contacts."""
    db.table("appointments").create(
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
    db.table("appointments").create_index(["start"])
    db.table("sends").create(
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
    db.table("sends").create_index(["key"], unique=True)
    db.table("sends").create_index(["state", "due_at"])
    db.table("sends").create_index(["appointment_id"])
    db.table("attempts").create(
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
    db.table("syncs").create(
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
    db.table("notices").create(
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
    db.table("contact_health").create(
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
    db.table("meta").create({"key": str, "value": str}, pk="key")


@migrations(name="0002_sends_by_recipient")
def m0002_sends_by_recipient(db: Database) -> None:
    """Dispatch asks "was this number ever texted?" before each first text; an index keeps
    that a lookup instead of a scan of the whole history."""
    db.table("sends").create_index(["recipient", "channel"])


@migrations(name="0003_raw_digest")
def m0003_raw_digest(db: Database) -> None:
    """A fingerprint of each source record as read, so a no-change sync of a large file
    source skips parsing the records it has already seen."""
    db.table("appointments").add_column("raw_digest", str)


@migrations(name="0004_claimed_by")
def m0004_claimed_by(db: Database) -> None:
    """Which process claimed a `sending` row (boot id, pid, start time): another run may
    take it for a crash leftover only once that process is gone, lock file or not."""
    db.table("sends").add_column("claimed_by", str)


@migrations(name="0005_escaped_send_keys")
def m0005_escaped_send_keys(db: Database) -> None:
    """Send keys escape `%` and `/` in each part (`core.plan.send_key`), so ids holding a
    `/` can no longer make two sends share a key. Rewrite the keys of rows whose ids hold
    either character, so the next sync plans the same keys again: nothing pending is
    planned twice (sent twice) or lost. The escaping is spelled out here, not imported:
    a shipped migration must not change when the key function does."""

    def escape(part: str) -> str:
        return part.replace("%", "%25").replace("/", "%2F")

    rows = db.execute(
        "select id, key, appointment_id, participant_id, step, channel from sends "
        "where appointment_id glob '*[/%]*' or participant_id glob '*[/%]*' "
        "or step glob '*[/%]*'"
    ).fetchall()
    for send_id, key, appointment_id, participant_id, step, channel in rows:
        head = f"{appointment_id}/{participant_id}/{step}/{channel}/"
        if not key.startswith(head):
            continue  # not a key this version of linkcli wrote
        parts = (appointment_id, participant_id, step, channel)
        new = "/".join(escape(part) for part in parts) + "/" + key[len(head) :]
        db.execute("update sends set key = ? where id = ?", [new, send_id])


@migrations(name="0007_write_backs")
def m0007_write_backs(db: Database) -> None:
    """FHIR write-back: one row per sent message, with its own state machine (pending ->
    posting -> written, back to pending after a failed POST), claimed like a send. The
    unique `send_id` is what makes the record exactly one per message."""
    db.table("write_backs").create(
        {
            "id": int,
            "send_id": int,
            "state": str,
            "attempts": int,
            "next_attempt_at": str,
            "error": str,
            "resource_id": str,
            "claimed_by": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"send_id", "state"},
        defaults={"attempts": 0},
        foreign_keys=[("send_id", "sends", "id")],
    )
    db.table("write_backs").create_index(["send_id"], unique=True)
    db.table("write_backs").create_index(["state", "next_attempt_at"])


@migrations(name="0009_replies")
def m0009_replies(db: Database) -> None:
    """Every reply a client texted to the practice number, kept for `[store] retention`:
    what it was (`kind`), which session it was taken to be about, and whether it was
    answered. `sid` (the provider's id) is unique, so a reply read twice (the reads
    overlap) is recorded and answered once; `answer_key` is the key of the answer's send
    row, whose own unique key makes the answer go once."""
    db.table("replies").create(
        {
            "id": int,
            "sid": str,
            "received_at": str,
            "number": str,
            "body": str,
            "appointment_id": str,
            "participant_id": str,
            "answered": int,
            "kind": str,
            "answer_key": str,
            "reason": str,
        },
        pk="id",
        not_null={"sid", "received_at", "number", "kind"},
        defaults={"answered": 0},
    )
    db.table("replies").create_index(["sid"], unique=True)
    db.table("replies").create_index(["received_at"])
    db.table("replies").create_index(["answer_key"])
    db.table("sends").create_index(["step", "recipient"])
