"""The SQLite store: snapshot, sends and their state machine, attempts, sync log.

The store owns the schema (migrations applied on open) and every multi-row write runs
in one transaction. A send moves pending -> sending -> sent / failed, or to canceled or
skipped; `claim` is the only way into `sending`, and it succeeds for one caller only.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from linkcli.core.model import Appointment, RecordError, parse_appointment
from linkcli.core.reconcile import PendingSend, SentMessage, SyncPlan
from linkcli.errors import StoreError
from linkcli.migrations import migrations

STATES = ("pending", "sending", "sent", "delivered", "failed", "canceled", "skipped")


def ts(value: datetime) -> str:
    """A UTC instant as fixed-width text, so text order is time order in SQL.
    (isoformat, not strftime: a first sync of a large practice formats ~1M instants.)"""
    if value.utcoffset() != _ZERO:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


_ZERO = timedelta(0)


def parse_ts(value: str) -> datetime:
    """The inverse of `ts`."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Known:
    """A snapshot row: the appointment as last seen, its revision and calendar SEQUENCE."""

    appointment: Appointment
    revision: int
    sequence: int = 0


class Store:
    """One open linkcli database."""

    def __init__(self, db: Database, path: Path) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating it owner-only if new) and migrate the database at `path`."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Create the file 0600 before SQLite does: it holds client contact details.
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            os.chmod(path, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot create the database {path}: {exc.strerror}") from None
        try:
            conn = sqlite3.connect(str(path), timeout=5.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            db = Database(conn)
            migrations.apply(db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"the database {path} cannot be used ({exc}); restore it from a backup or "
                "move it aside and run `linkcli sync` to start a new one"
            ) from None
        for suffix in ("-wal", "-shm"):
            side = Path(f"{path}{suffix}")
            if side.exists():
                os.chmod(side, 0o600)
        return cls(db, path)

    def close(self) -> None:
        """Close the connection."""
        self.db.conn.close()

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction."""
        with self.db.atomic():
            yield

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query as dicts."""
        return list(self.db.query(sql, params))

    # --- snapshot -----------------------------------------------------------------

    def index(self) -> dict[str, tuple[str, str, str, int, str | None]]:
        """Every known appointment as (digest, status, start, revision, raw digest),
        without parsing the stored JSON: a no-change sync compares digests only."""
        return {
            row[0]: (row[1], row[2], row[3], row[4], row[5])
            for row in self.db.execute(
                "select id, digest, status, start, revision, raw_digest from appointments"
            )
        }

    def set_raw_digests(self, digests: dict[str, str]) -> None:
        """Remember how each source record read, to skip it next time it reads the same."""
        self.db.conn.executemany(
            "update appointments set raw_digest = ? where id = ?",
            ((raw, aid) for aid, raw in digests.items()),
        )

    def load(self, ids: Iterable[str]) -> dict[str, Known]:
        """Parse the snapshot rows of these appointments."""
        out: dict[str, Known] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(
                f"select id, revision, sequence, data from appointments where id in ({marks})",
                chunk,
            ):
                out[row["id"]] = Known(_load(row["data"]), row["revision"], row["sequence"] or 0)
        return out

    def appointment(self, appointment_id: str) -> Known | None:
        """One snapshot row, or None."""
        rows = self.query(
            "select revision, sequence, data from appointments where id = ?", [appointment_id]
        )
        if not rows:
            return None
        return Known(_load(rows[0]["data"]), rows[0]["revision"], rows[0]["sequence"] or 0)

    def appointments_between(self, start: datetime, end: datetime) -> list[Known]:
        """Snapshot rows whose session starts in [start, end)."""
        rows = self.query(
            "select revision, sequence, data from appointments where start >= ? and start < ? "
            "order by start",
            [ts(start), ts(end)],
        )
        return [Known(_load(r["data"]), r["revision"], r["sequence"] or 0) for r in rows]

    # --- syncs --------------------------------------------------------------------

    def last_sync(self) -> dict[str, Any] | None:
        """The most recent sync attempt, good or not."""
        rows = self.query("select * from syncs order by id desc limit 1")
        return rows[0] if rows else None

    def last_good_sync(self) -> datetime | None:
        """When the last successful sync finished."""
        rows = self.query("select max(finished_at) as t from syncs where ok = 1")
        return parse_ts(rows[0]["t"]) if rows and rows[0]["t"] else None

    def record_sync(
        self,
        started: datetime,
        finished: datetime,
        source: str,
        ok: bool,
        counts: dict[str, int] | None = None,
        problems: list[str] | None = None,
        error: str | None = None,
    ) -> None:
        """Log one sync attempt (a failed one touches nothing else)."""
        self.db["syncs"].insert(
            {
                "started_at": ts(started),
                "finished_at": ts(finished),
                "ok": int(ok),
                "source": source,
                "counts": json.dumps(counts or {}, sort_keys=True),
                "problems": json.dumps(problems or []),
                "error": error,
            }
        )

    def pending_of(self, appointment_ids: Iterable[str]) -> list[PendingSend]:
        """Pending sends of these appointments (chunked: SQLite limits parameters)."""
        out: list[PendingSend] = []
        for chunk in _chunks(list(appointment_ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(
                f"select key, appointment_id, participant_id, step, channel from sends "
                f"where state = 'pending' and appointment_id in ({marks})",
                chunk,
            ):
                out.append(PendingSend(**row))
        return out

    def sent_messages(self, appointment_ids: Iterable[str]) -> dict[str, set[SentMessage]]:
        """What already went out, per appointment: (participant, step, channel)."""
        out: dict[str, set[SentMessage]] = {}
        for chunk in _chunks(list(appointment_ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(
                f"select distinct appointment_id, participant_id, step, channel from sends "
                f"where state in ('sent', 'delivered') and appointment_id in ({marks})",
                chunk,
            ):
                out.setdefault(row["appointment_id"], set()).add(
                    SentMessage(row["participant_id"], row["step"], row["channel"])
                )
        return out

    def apply_sync(self, plan: SyncPlan, now: datetime) -> None:
        """Write one sync's plan in a single transaction.

        Plain `executemany` with fixed columns: a first sync of a large practice writes
        hundreds of thousands of send rows, and per-row dict handling dominated it."""
        stamp = ts(now)
        conn = self.db.conn
        with self.db.atomic():
            # SEQUENCE (the calendar file's) starts at 0 and rises on every change.
            conn.executemany(
                "insert into appointments (id, revision, sequence, status, start, digest, "
                "data, first_seen, changed_at) values (?, ?, 0, ?, ?, ?, ?, ?, ?) "
                "on conflict(id) do update set revision = excluded.revision, "
                "sequence = coalesce(appointments.sequence, -1) + 1, "
                "status = excluded.status, start = excluded.start, digest = excluded.digest, "
                "data = excluded.data, changed_at = excluded.changed_at, raw_digest = null",
                (
                    (
                        w.appointment.id,
                        w.revision,
                        w.appointment.status,
                        ts(w.appointment.start),
                        w.appointment.digest(),
                        json.dumps(w.appointment.to_dict(), sort_keys=True),
                        stamp,
                        stamp,
                    )
                    for w in plan.writes
                ),
            )
            conn.executemany(
                "update sends set state = 'canceled', reason = ?, updated_at = ? "
                "where key = ? and state = 'pending'",
                (
                    (plan.cancel_reasons.get(key, "canceled"), stamp, key)
                    for key in plan.cancel_keys
                ),
            )
            # A key planned again after it was withdrawn (a client re-added to a group,
            # a mobile restored, in-person back to telehealth) goes back to pending; one
            # that is pending, went out or was settled otherwise is left as it is.
            conn.executemany(
                "insert into sends (key, appointment_id, participant_id, step, "
                "channel, revision, due_at, expires_at, state, attempts, created_at, "
                "updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) "
                "on conflict(key) do update set state = 'pending', due_at = excluded.due_at, "
                "expires_at = excluded.expires_at, attempts = 0, next_attempt_at = null, "
                "reason = null, updated_at = excluded.updated_at "
                "where sends.state = 'canceled'",
                (
                    (
                        s.key,
                        s.appointment_id,
                        s.participant_id,
                        s.step,
                        s.channel,
                        s.revision,
                        ts(s.due_at),
                        ts(s.expires_at),
                        stamp,
                        stamp,
                    )
                    for s in plan.inserts
                ),
            )
            for notice in plan.notices:
                self.db["notices"].upsert(
                    {
                        "key": notice.key,
                        "appointment_id": notice.appointment_id,
                        "participant_id": notice.participant_id,
                        "kind": notice.kind,
                        "reason": notice.reason,
                        "fix": notice.fix,
                        "created_at": stamp,
                        "active": 1,
                    },
                    pk="key",
                )

    # --- sends --------------------------------------------------------------------

    def due_sends(self, now: datetime) -> list[dict[str, Any]]:
        """Pending sends whose moment has come (and whose retry time, if any, too)."""
        stamp = ts(now)
        return self.query(
            "select * from sends where state = 'pending' and due_at <= ? "
            "and (next_attempt_at is null or next_attempt_at <= ?) order by due_at, id",
            [stamp, stamp],
        )

    def next_due(self) -> datetime | None:
        """When the earliest pending send (or retry) may go."""
        rows = self.query(
            "select min(max(due_at, coalesce(next_attempt_at, due_at))) as t from sends "
            "where state = 'pending'"
        )
        return parse_ts(rows[0]["t"]) if rows and rows[0]["t"] else None

    def claim(self, send_id: int, now: datetime, **message: Any) -> int | None:
        """Move one send from pending to sending (recording the message as it goes) and
        open its attempt row, in one transaction. The attempt id for exactly one caller;
        None for any other. Plain SQL: this runs once per message sent."""
        stamp = ts(now)
        columns = "".join(f", {name} = ?" for name in message)
        conn = self.db.conn
        with self.db.atomic():
            cursor = conn.execute(
                f"update sends set state = 'sending', attempts = attempts + 1, "
                f"updated_at = ?{columns} where id = ? and state = 'pending'",
                [stamp, *message.values(), send_id],
            )
            if cursor.rowcount != 1:
                return None
            attempt = conn.execute(
                "insert into attempts (send_id, started_at, outcome) values (?, ?, 'started')",
                [send_id, stamp],
            )
            return int(attempt.lastrowid or 0)

    def record_sent(
        self,
        send_id: int,
        attempt_id: int,
        now: datetime,
        provider_id: str | None,
        provider_status: str,
        segments: int | None,
    ) -> None:
        """The provider accepted the message: close the attempt and the send together."""
        stamp = ts(now)
        with self.db.atomic():
            self.db.conn.execute(
                "update attempts set finished_at = ?, outcome = 'sent', provider_id = ? "
                "where id = ?",
                [stamp, provider_id, attempt_id],
            )
            self.db.conn.execute(
                "update sends set state = 'sent', updated_at = ?, provider_id = ?, "
                "provider_status = ?, sent_at = ?, reason = null, next_attempt_at = null, "
                "segments = coalesce(?, segments) where id = ?",
                [stamp, provider_id, provider_status, stamp, segments, send_id],
            )

    def set_state(self, send_id: int, state: str, now: datetime, **fields: Any) -> None:
        """Record a send's new state and whatever the attempt learned."""
        assert state in STATES
        columns = "".join(f", {name} = ?" for name in fields)
        self.db.conn.execute(
            f"update sends set state = ?, updated_at = ?{columns} where id = ?",
            [state, ts(now), *fields.values(), send_id],
        )

    def finish_attempt(
        self,
        attempt_id: int,
        now: datetime,
        outcome: str,
        provider_id: str | None = None,
        error: str | None = None,
    ) -> None:
        """Write the attempt's outcome."""
        self.db.conn.execute(
            "update attempts set finished_at = ?, outcome = ?, provider_id = ?, error = ? "
            "where id = ?",
            [ts(now), outcome, provider_id, error, attempt_id],
        )

    def counts_by_state(self) -> dict[str, int]:
        """How many sends are in each state (every state listed, zeros included)."""
        counts = dict.fromkeys(STATES, 0)
        for row in self.db.query("select state, count(*) as n from sends group by state"):
            counts[row["state"]] = row["n"]
        return counts

    def purge(self, before: datetime) -> dict[str, int]:
        """Drop what is older than the retention period: message bodies and departed
        sessions. Send rows stay (state, step, channel, time) so counts keep their history."""
        stamp = ts(before)
        with self.db.atomic():
            bodies = self.db.execute(
                "update sends set body = null, subject = null, recipient = null "
                "where updated_at < ? and state not in ('pending', 'sending') "
                "and (body is not null or recipient is not null)",
                [stamp],
            ).rowcount
            sessions = self.db.execute("delete from appointments where start < ?", [stamp]).rowcount
        return {"bodies": bodies, "sessions": sessions}

    # --- contact health -------------------------------------------------------------

    def health(self, address: str) -> dict[str, Any] | None:
        """What linkcli learned about a number or address (opted out, unusable)."""
        rows = self.query("select * from contact_health where address = ?", [address])
        return rows[0] if rows else None

    def set_health(self, address: str, channel: str, now: datetime, **fields: Any) -> None:
        """Record an opt-out, an opt-in or an unusable address."""
        current = self.health(address) or {"opted_out": 0, "bad": 0, "reason": None}
        self.db["contact_health"].upsert(
            {**current, "address": address, "channel": channel, "updated_at": ts(now), **fields},
            pk="address",
        )

    def add_notice(
        self,
        key: str,
        appointment_id: str | None,
        participant_id: str | None,
        kind: str,
        reason: str,
        fix: str,
        now: datetime,
    ) -> None:
        """Record something a human should look at (once per key)."""
        self.db["notices"].insert(
            {
                "key": key,
                "appointment_id": appointment_id,
                "participant_id": participant_id,
                "kind": kind,
                "reason": reason,
                "fix": fix,
                "created_at": ts(now),
                "active": 1,
            },
            pk="key",
            ignore=True,
        )

    def advance_delivery(
        self,
        send_id: int,
        state: str,
        provider_status: str,
        code: str | None,
        now: datetime,
        reason: str | None = None,
    ) -> None:
        """Record a final delivery status. Only a 'sent' row moves, so a late or repeated
        report never moves a message backwards."""
        self.db.execute(
            "update sends set state = ?, provider_status = ?, error_code = ?, "
            "reason = coalesce(?, reason), updated_at = ? where id = ? and state = 'sent'",
            [state, provider_status, code, reason, ts(now), send_id],
        )

    def notices(self, active_only: bool = True) -> list[dict[str, Any]]:
        """Stored attention items."""
        where = "where active = 1" if active_only else ""
        return self.query(f"select * from notices {where} order by created_at, key")

    def meta(self, key: str) -> str | None:
        """A small stored setting."""
        rows = self.query("select value from meta where key = ?", [key])
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a small setting."""
        self.db["meta"].upsert({"key": key, "value": value}, pk="key")


def _load(data: str) -> Appointment:
    try:
        return parse_appointment(json.loads(data))
    except (RecordError, ValueError) as exc:  # pragma: no cover - written by us
        raise StoreError(f"a snapshot row is damaged: {exc}") from None


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
