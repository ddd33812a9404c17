"""The SQLite store: snapshot, sends and their state machine, attempts, sync log.

The store owns the schema (migrations applied on open) and every SQL statement of
linkcli: commands call named methods and get typed rows back. Every multi-row write runs
in one transaction.

A send moves pending -> sending -> sent -> delivered / failed, or from pending to
canceled or skipped. Each move is a named method whose `UPDATE ... WHERE id = ? AND
state IN (...)` refuses an illegal one: the method returns False and changes nothing
(the row was moved by another run, or the caller asked for a move the state machine
does not have). `claim` is the only way into `sending`, it succeeds for one caller only,
and it records which process claimed the row: a `sending` row is taken for a crash
leftover only once that process is certainly gone, whatever happened to the lock file.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from sqlite_utils import Database

from linkcli.core.model import Appointment, RecordError, parse_appointment
from linkcli.core.reconcile import PendingSend, SentMessage, SyncPlan
from linkcli.core.report import ReplyCount, ReportMessage
from linkcli.errors import StoreError
from linkcli.migrations import migrations
from linkcli.private_file import make_private_dirs, refuse_symlink

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


@dataclass(frozen=True, slots=True)
class SendRow:
    """One row of `sends`: a participant x a step x a channel for one revision.
    Instants are the store's fixed-width UTC text (`ts`); `parse_ts` reads them."""

    id: int
    key: str
    appointment_id: str
    participant_id: str
    step: str
    channel: str
    revision: int
    due_at: str
    expires_at: str
    state: str
    reason: str | None
    recipient: str | None
    subject: str | None
    body: str | None
    segments: int | None
    encoding: str | None
    provider_id: str | None
    provider_status: str | None
    error_code: str | None
    attempts: int
    next_attempt_at: str | None
    created_at: str
    updated_at: str
    sent_at: str | None
    claimed_by: str | None


_SEND_COLUMNS = ", ".join(SendRow.__dataclass_fields__)


class SyncRow(NamedTuple):
    """One logged sync attempt."""

    id: int
    started_at: str
    finished_at: str
    ok: int
    source: str
    counts: str | None
    problems: str | None
    error: str | None


class Health(NamedTuple):
    """What linkcli learned about a number or address."""

    address: str
    channel: str | None
    opted_out: int
    bad: int
    reason: str | None
    updated_at: str


class NoticeRow(NamedTuple):
    """A stored attention item."""

    key: str
    appointment_id: str | None
    participant_id: str | None
    kind: str
    reason: str
    fix: str
    created_at: str
    active: int


class Seen(NamedTuple):
    """When the snapshot first saw an appointment and when it last changed."""

    first_seen: str | None
    changed_at: str | None


class StateCount(NamedTuple):
    """Sends of one channel (or one therapist) in one state."""

    group: str | None
    state: str
    n: int


# A reply with the state of its answer (ReplyRow's columns, in order).
_REPLY_SELECT = (
    "select r.received_at, r.number, r.body, r.appointment_id, r.participant_id, "
    "r.answered, r.kind, r.reason, s.state, s.reason from replies r "
    "left join sends s on s.key = r.answer_key "
)


class Store:
    """One open linkcli database."""

    def __init__(
        self, db: Database, path: Path, created: bool = False, readonly: bool = False
    ) -> None:
        self._db = db
        self.path = path
        self.created = created  # this open made the file: a new (or replaced) store
        self.readonly = readonly
        self._created_at: str | None = None

    @classmethod
    def open(cls, path: Path, readonly: bool = False) -> Store:
        """Open (creating it owner-only if new) and migrate the database at `path`.

        `readonly` opens an existing file without writing, creating, chmod-ing or
        migrating anything (`status`, `explain`); a missing file then reads as an empty
        store held in memory, and a store that needs a migration is a store error."""
        try:
            refuse_symlink(path, "the database")
        except OSError as exc:
            raise StoreError(str(exc)) from None
        if readonly:
            return cls._open_readonly(path)
        created = not path.exists()
        try:
            make_private_dirs(path.parent)
            # Create the file 0600 before SQLite does: it holds client contact details.
            # O_NOFOLLOW: a link made since the check above is refused, not followed.
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
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
        return cls(db, path, created=created)

    @classmethod
    def _open_readonly(cls, path: Path) -> Store:
        if not path.exists():
            # Nothing to read yet: an empty store in memory, so nothing appears on disk.
            db = Database(sqlite3.connect(":memory:", isolation_level=None))
            migrations.apply(db)
            return cls(db, path, readonly=True)
        try:
            try:
                conn = _connect_ro(path, "mode=ro")
                db = Database(conn)
                pending = [m.name for m in migrations.pending(db)]
            except sqlite3.OperationalError:
                # A read-only folder (or file) where SQLite cannot make the WAL's shared
                # memory file: read the file as it is, without locking (`immutable`).
                conn = _connect_ro(path, "mode=ro&immutable=1")
                db = Database(conn)
                pending = [m.name for m in migrations.pending(db)]
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"the database {path} cannot be read ({exc}); restore it from a backup or "
                "move it aside and run `linkcli sync` to start a new one"
            ) from None
        if pending:
            conn.close()
            raise StoreError(
                f"the database {path} was written by an older linkcli and needs an upgrade "
                f"({len(pending)} pending migration(s)), which a read-only command does not "
                "do; run `linkcli sync` (or `linkcli dispatch`) once to upgrade it"
            )
        return cls(db, path, readonly=True)

    def close(self) -> None:
        """Close the connection."""
        self._db.conn.close()

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction."""
        with self._db.atomic():
            yield

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query as dicts (private: callers get typed rows)."""
        return list(self._db.query(sql, params))

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._db.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def _sends(self, where: str, params: Sequence[Any] = ()) -> list[SendRow]:
        return [
            SendRow(*row)
            for row in self._db.conn.execute(f"select {_SEND_COLUMNS} from sends {where}", params)
        ]

    # --- snapshot -----------------------------------------------------------------

    def index(self) -> dict[str, tuple[str, str, str, int, str | None]]:
        """Every known appointment as (digest, status, start, revision, raw digest),
        without parsing the stored JSON: a no-change sync compares digests only."""
        return {
            row[0]: (row[1], row[2], row[3], row[4], row[5])
            for row in self._db.execute(
                "select id, digest, status, start, revision, raw_digest from appointments"
            )
        }

    def set_raw_digests(self, digests: dict[str, str]) -> None:
        """Remember how each source record read, to skip it next time it reads the same."""
        self._db.conn.executemany(
            "update appointments set raw_digest = ? where id = ?",
            ((raw, aid) for aid, raw in digests.items()),
        )

    def load(self, ids: Iterable[str]) -> dict[str, Known]:
        """Parse the snapshot rows of these appointments."""
        out: dict[str, Known] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self._db.query(
                f"select id, revision, sequence, data from appointments where id in ({marks})",
                chunk,
            ):
                out[row["id"]] = Known(_load(row["data"]), row["revision"], row["sequence"] or 0)
        return out

    def appointment(self, appointment_id: str) -> Known | None:
        """One snapshot row, or None."""
        rows = self._query(
            "select revision, sequence, data from appointments where id = ?", [appointment_id]
        )
        if not rows:
            return None
        return Known(_load(rows[0]["data"]), rows[0]["revision"], rows[0]["sequence"] or 0)

    def ids_starting_with(self, prefix: str, limit: int = 6) -> list[str]:
        """Snapshot appointment ids that begin with `prefix` (`explain` takes a short id)."""
        rows = self._query(
            "select id from appointments where substr(id, 1, ?) = ? order by id limit ?",
            [len(prefix), prefix, limit],
        )
        return [str(r["id"]) for r in rows]

    def seen(self, appointment_id: str) -> Seen:
        """When the snapshot first saw this appointment and when it last changed."""
        row = self._db.conn.execute(
            "select first_seen, changed_at from appointments where id = ?", [appointment_id]
        ).fetchone()
        return Seen(*row) if row else Seen(None, None)

    def appointment_count(self) -> int:
        """How many appointments the snapshot holds."""
        return int(self._scalar("select count(*) from appointments"))

    def appointments_between(self, start: datetime, end: datetime) -> list[Known]:
        """Snapshot rows whose session starts in [start, end)."""
        rows = self._query(
            "select revision, sequence, data from appointments where start >= ? and start < ? "
            "order by start",
            [ts(start), ts(end)],
        )
        return [Known(_load(r["data"]), r["revision"], r["sequence"] or 0) for r in rows]

    # --- syncs --------------------------------------------------------------------

    def last_sync(self) -> SyncRow | None:
        """The most recent sync attempt, good or not."""
        row = self._db.conn.execute(
            "select id, started_at, finished_at, ok, source, counts, problems, error "
            "from syncs order by id desc limit 1"
        ).fetchone()
        return SyncRow(*row) if row else None

    def last_good_sync(self) -> datetime | None:
        """When the last successful sync finished."""
        t = self._scalar("select max(finished_at) from syncs where ok = 1")
        return parse_ts(t) if t else None

    def first_good_sync(self) -> str | None:
        """When the first successful sync finished (store text), or None."""
        t = self._scalar("select min(finished_at) from syncs where ok = 1")
        return str(t) if t else None

    def last_good_problems(self) -> list[str]:
        """The problems the last successful sync reported (to report each only once)."""
        raw = self._scalar("select problems from syncs where ok = 1 order by id desc limit 1")
        return list(json.loads(raw or "[]"))

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
        self._db.table("syncs").insert(
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
            for row in self._db.query(
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
            for row in self._db.query(
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
        conn = self._db.conn
        with self._db.atomic():
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
                self._db.table("notices").upsert(
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

    # --- sends: reads ------------------------------------------------------------

    def due_sends(self, now: datetime) -> list[SendRow]:
        """Pending sends whose moment has come (and whose retry time, if any, too)."""
        stamp = ts(now)
        return self._sends(
            "where state = 'pending' and due_at <= ? "
            "and (next_attempt_at is null or next_attempt_at <= ?) order by due_at, id",
            [stamp, stamp],
        )

    def send(self, send_id: int) -> SendRow | None:
        """One send row by id."""
        rows = self._sends("where id = ?", [send_id])
        return rows[0] if rows else None

    def sends_of(self, appointment_id: str) -> list[SendRow]:
        """Every send of one appointment, oldest revision first."""
        return self._sends("where appointment_id = ? order by revision, id", [appointment_id])

    def send_count_of(self, appointment_id: str) -> int:
        """How many send rows an appointment has (they outlive its snapshot row)."""
        return int(
            self._scalar("select count(*) from sends where appointment_id = ?", [appointment_id])
        )

    def pending_before(self, until: datetime, limit: int | None = None) -> list[SendRow]:
        """Pending sends due before `until`, soonest first."""
        return self._sends(
            "where state = 'pending' and due_at < ? order by due_at, id limit ?",
            [ts(until), -1 if limit is None else limit],
        )

    def pending_sends(self, limit: int) -> list[SendRow]:
        """The first `limit` pending sends, soonest first."""
        return self._sends("where state = 'pending' order by due_at, id limit ?", [limit])

    def settled_since(self, since: datetime, limit: int = 50) -> list[SendRow]:
        """Sends that left pending (and were not canceled) since `since`, newest first."""
        return self._sends(
            "where state not in ('pending', 'canceled') and updated_at >= ? "
            "order by updated_at desc, id desc limit ?",
            [ts(since), limit],
        )

    def history(self) -> list[SendRow]:
        """Every send that went, failed or was skipped, in the order it happened."""
        return self._sends(
            "where state not in ('pending', 'canceled') order by coalesce(sent_at, updated_at), id"
        )

    def failed_since(self, since: datetime, limit: int = 50) -> list[SendRow]:
        """Failed sends since `since`, newest first."""
        return self._sends(
            "where state = 'failed' and updated_at >= ? order by updated_at desc limit ?",
            [ts(since), limit],
        )

    def failed_count_since(self, since: datetime) -> int:
        """How many sends failed since `since`."""
        return int(
            self._scalar(
                "select count(*) from sends where state = 'failed' and updated_at >= ?",
                [ts(since)],
            )
        )

    def waiting_appointments(self, now: datetime) -> list[str]:
        """Appointments with a pending send already due."""
        return [
            row[0]
            for row in self._db.conn.execute(
                "select distinct appointment_id from sends where state = 'pending' "
                "and due_at <= ? order by appointment_id",
                [ts(now)],
            )
        ]

    def by_channel_since(self, since: datetime) -> list[StateCount]:
        """Settled sends since `since`, counted per channel and state."""
        return [
            StateCount(*row)
            for row in self._db.conn.execute(
                "select channel, state, count(*) from sends where updated_at >= ? "
                "and state != 'pending' group by channel, state",
                [ts(since)],
            )
        ]

    def by_therapist_since(self, since: datetime) -> list[StateCount]:
        """Settled sends since `since`, counted per therapist id and state."""
        return [
            StateCount(*row)
            for row in self._db.conn.execute(
                "select json_extract(a.data, '$.therapist.id'), s.state, count(*) "
                "from sends s join appointments a on a.id = s.appointment_id "
                "where s.updated_at >= ? and s.state != 'pending' group by 1, 2",
                [ts(since)],
            )
        ]

    def next_due(self) -> datetime | None:
        """When the earliest pending send (or retry) may go."""
        t = self._scalar(
            "select min(max(due_at, coalesce(next_attempt_at, due_at))) from sends "
            "where state = 'pending'"
        )
        return parse_ts(t) if t else None

    def texted_before(self, address: str, other_than: int | None = None) -> bool:
        """Whether a text to this number went (or is going) out from this store, by a
        send other than `other_than`."""
        return bool(
            self._scalar(
                "select 1 from sends where channel = 'sms' and recipient = ? "
                "and state in ('sent', 'delivered', 'sending') and id != ? limit 1",
                [address, -1 if other_than is None else other_than],
            )
        )

    def last_texted(self, number: str) -> tuple[str, str] | None:
        """(appointment, participant) of the latest text to this number, or None."""
        row = self._db.conn.execute(
            "select appointment_id, participant_id from sends where recipient = ? "
            "and channel = 'sms' order by id desc limit 1",
            [number],
        ).fetchone()
        return (row[0], row[1]) if row else None

    def awaiting_delivery(self, sent_since: datetime, polled_before: datetime) -> list[SendRow]:
        """Texts sent since `sent_since` with no final status, not polled since
        `polled_before`, oldest first (at most 100 per run)."""
        return self._sends(
            "where channel = 'sms' and state = 'sent' and provider_id is not null "
            "and sent_at >= ? and updated_at <= ? order by sent_at limit 100",
            [ts(sent_since), ts(polled_before)],
        )

    def stranded(self, now: datetime, grace: timedelta) -> list[SendRow]:
        """`sending` rows left by a run that is certainly gone: they need settling.

        A row claimed by a live process (another run, even one whose lock file was
        deleted) is left alone. A row claimed by this very process comes from an earlier
        dispatch of it (`run --watch`): dispatches run one after the other. Any other
        row is settled only when its claimant is gone AND the claim is older than
        `grace` (longer than one attempt can last): a process in another pid namespace
        (a container sharing the volume) looks gone from here while it may still be
        sending."""
        settled_before = ts(now - grace)
        return [
            row
            for row in self._sends("where state = 'sending' order by id")
            if row.claimed_by == _claimant()
            or (
                (row.claimed_by is None or not _alive(row.claimed_by))
                and row.updated_at <= settled_before
            )
        ]

    def counts_by_state(self) -> dict[str, int]:
        """How many sends are in each state (every state listed, zeros included)."""
        counts = dict.fromkeys(STATES, 0)
        for state, n in self._db.conn.execute("select state, count(*) from sends group by state"):
            counts[state] = n
        return counts

    # --- sends: transitions ----------------------------------------------------------
    # Each returns True when it moved the row, False when the row was not in a state it
    # may leave that way (another run moved it first): nothing is changed then.

    def _move(
        self, send_id: int, to: str, from_: tuple[str, ...], now: datetime, **fields: Any
    ) -> bool:
        columns = "".join(f", {name} = ?" for name in fields)
        marks = ",".join("?" * len(from_))
        cursor = self._db.conn.execute(
            f"update sends set state = ?, updated_at = ?{columns} "
            f"where id = ? and state in ({marks})",
            [to, ts(now), *fields.values(), send_id, *from_],
        )
        return cursor.rowcount == 1

    def claim(self, send_id: int, now: datetime, message: ClaimedMessage) -> int | None:
        """pending -> sending, recording the message as it goes and which process claimed
        it, with its attempt row, in one transaction. The attempt id for exactly one
        caller; None for any other. Plain SQL: this runs once per message sent."""
        stamp = ts(now)
        conn = self._db.conn
        with self._db.atomic():
            cursor = conn.execute(
                "update sends set state = 'sending', attempts = attempts + 1, updated_at = ?, "
                "recipient = ?, body = ?, subject = ?, segments = ?, encoding = ?, "
                "claimed_by = ? where id = ? and state = 'pending'",
                [stamp, *message, _claimant(), send_id],
            )
            if cursor.rowcount != 1:
                return None
            attempt = conn.execute(
                "insert into attempts (send_id, started_at, outcome) values (?, ?, 'started')",
                [send_id, stamp],
            )
            return int(attempt.lastrowid or 0)

    def mark_sent(
        self,
        send_id: int,
        attempt_id: int,
        now: datetime,
        provider_id: str | None,
        provider_status: str,
        segments: int | None,
    ) -> bool:
        """sending -> sent: the provider accepted the message; closes the attempt too."""
        stamp = ts(now)
        with self._db.atomic():
            self._db.conn.execute(
                "update attempts set finished_at = ?, outcome = 'sent', provider_id = ? "
                "where id = ?",
                [stamp, provider_id, attempt_id],
            )
            cursor = self._db.conn.execute(
                "update sends set state = 'sent', updated_at = ?, provider_id = ?, "
                "provider_status = ?, sent_at = ?, reason = null, next_attempt_at = null, "
                "segments = coalesce(?, segments) where id = ? and state = 'sending'",
                [stamp, provider_id, provider_status, stamp, segments, send_id],
            )
            if cursor.rowcount == 1:
                self._answered(send_id)
            return cursor.rowcount == 1

    def mark_found(
        self,
        send_id: int,
        now: datetime,
        provider_id: str | None,
        provider_status: str,
        sent_at: str | None,
        reason: str,
    ) -> bool:
        """sending -> sent: the provider's list shows the message went (a crash, an
        unanswered call, or a store created after it was sent)."""
        with self._db.atomic():
            moved = self._move(
                send_id,
                "sent",
                ("sending",),
                now,
                provider_id=provider_id,
                provider_status=provider_status,
                sent_at=sent_at or ts(now),
                reason=reason,
            )
            if moved:
                self._answered(send_id)
            return moved

    def _answered(self, send_id: int) -> None:
        """A send that went is the answer of the reply (if any) planned with its key."""
        self._db.conn.execute(
            "update replies set answered = 1 where answer_key = "
            "(select key from sends where id = ? and step in ('link-reply', 'no-session'))",
            [send_id],
        )

    def release_to_pending(
        self,
        send_id: int,
        now: datetime,
        reason: str,
        error_code: str | None = None,
        retry_at: datetime | None = None,
        attempts: int | None = None,
    ) -> bool:
        """sending -> pending: the message did not go; it may go again (at `retry_at`)."""
        fields: dict[str, Any] = {
            "reason": reason,
            "next_attempt_at": ts(retry_at) if retry_at else None,
        }
        if error_code is not None:
            fields["error_code"] = error_code
        if attempts is not None:
            fields["attempts"] = attempts
        return self._move(send_id, "pending", ("sending",), now, **fields)

    def keep_sending(self, send_id: int, now: datetime, reason: str) -> bool:
        """sending -> sending: the provider may have the message but never answered; the
        next run looks it up before anything is sent again."""
        return self._move(send_id, "sending", ("sending",), now, reason=reason)

    def note_waiting(
        self, send_id: int, now: datetime, reason: str, until: datetime | None = None
    ) -> bool:
        """pending -> pending: due but held (quiet hours, a stale snapshot), and why;
        `until`, when known, is when it may go (`due_sends` leaves it alone till then)."""
        if until is None:
            return self._move(send_id, "pending", ("pending",), now, reason=reason)
        return self._move(
            send_id, "pending", ("pending",), now, reason=reason, next_attempt_at=ts(until)
        )

    def mark_failed(
        self, send_id: int, now: datetime, reason: str, error_code: str | None = None
    ) -> bool:
        """pending / sending -> failed: given up (refused for good, or out of time)."""
        fields: dict[str, Any] = {"reason": reason}
        if error_code is not None:
            fields["error_code"] = error_code
        return self._move(send_id, "failed", ("pending", "sending"), now, **fields)

    def cancel(self, send_id: int, now: datetime, reason: str) -> bool:
        """pending -> canceled: the schedule no longer wants this message."""
        return self._move(send_id, "canceled", ("pending",), now, reason=reason)

    def skip(self, send_id: int, now: datetime, reason: str, recipient: str | None = None) -> bool:
        """pending -> skipped: this message will not go, by design (too late, opted out);
        `recipient`, when given, records whom it would have gone to."""
        fields: dict[str, Any] = {"reason": reason}
        if recipient is not None:
            fields["recipient"] = recipient
        return self._move(send_id, "skipped", ("pending",), now, **fields)

    def note_delivery(self, send_id: int, now: datetime, provider_status: str) -> bool:
        """sent -> sent: a status that is not final yet (queued, sent)."""
        return self._move(send_id, "sent", ("sent",), now, provider_status=provider_status)

    def advance_delivery(
        self,
        send_id: int,
        state: str,
        provider_status: str,
        code: str | None,
        now: datetime,
        reason: str | None = None,
    ) -> bool:
        """sent -> delivered / failed from a final delivery status. Only a 'sent' row
        moves, so a late or repeated report never moves a message backwards."""
        if state not in ("delivered", "failed"):
            return False
        fields: dict[str, Any] = {"provider_status": provider_status, "error_code": code}
        if reason is not None:
            fields["reason"] = reason
        return self._move(send_id, state, ("sent",), now, **fields)

    def finish_attempt(
        self,
        attempt_id: int,
        now: datetime,
        outcome: str,
        provider_id: str | None = None,
        error: str | None = None,
    ) -> None:
        """Write the attempt's outcome."""
        self._db.conn.execute(
            "update attempts set finished_at = ?, outcome = ?, provider_id = ?, error = ? "
            "where id = ?",
            [ts(now), outcome, provider_id, error, attempt_id],
        )

    def purge(self, before: datetime) -> dict[str, int]:
        """Drop what is older than the retention period: message bodies and departed
        sessions. Send rows stay (state, step, channel, time) so counts keep their history."""
        stamp = ts(before)
        with self._db.atomic():
            bodies = self._db.execute(
                "update sends set body = null, subject = null, recipient = null "
                "where updated_at < ? and state not in ('pending', 'sending') "
                "and (body is not null or recipient is not null)",
                [stamp],
            ).rowcount
            sessions = self._db.execute(
                "delete from appointments where start < ?", [stamp]
            ).rowcount
            replies = self.purge_replies(before)
        return {"bodies": bodies, "sessions": sessions, "replies": replies}

    # --- contact health -------------------------------------------------------------

    def health(self, address: str) -> Health | None:
        """What linkcli learned about a number or address (opted out, unusable)."""
        row = self._db.conn.execute(
            "select address, channel, opted_out, bad, reason, updated_at from contact_health "
            "where address = ?",
            [address],
        ).fetchone()
        return Health(*row) if row else None

    def set_health(self, address: str, channel: str, now: datetime, **fields: Any) -> None:
        """Record an opt-out, an opt-in or an unusable address."""
        current = self.health(address)
        base = (
            {"opted_out": current.opted_out, "bad": current.bad, "reason": current.reason}
            if current
            else {"opted_out": 0, "bad": 0, "reason": None}
        )
        self._db.table("contact_health").upsert(
            {**base, "address": address, "channel": channel, "updated_at": ts(now), **fields},
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
        self._db.table("notices").insert(
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

    def notices(self, active_only: bool = True) -> list[NoticeRow]:
        """Stored attention items."""
        where = "where active = 1" if active_only else ""
        return [
            NoticeRow(*row)
            for row in self._db.conn.execute(
                "select key, appointment_id, participant_id, kind, reason, fix, created_at, "
                f"active from notices {where} order by created_at, key"
            )
        ]

    def meta(self, key: str) -> str | None:
        """A small stored setting."""
        value = self._scalar("select value from meta where key = ?", [key])
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        """Store a small setting."""
        self._db.table("meta").upsert({"key": key, "value": value}, pk="key")

    # --- a new store ------------------------------------------------------------------

    def mark_created(self, now: datetime) -> None:
        """Remember when this store was created (see `due_before_creation`)."""
        self._created_at = ts(now)
        self.set_meta("created_at", self._created_at)

    def due_before_creation(self, due_at: str) -> bool:
        """Whether a send due at `due_at` (store text) was due before this store was
        created: a store it replaced (deleted, moved) may already have sent it. Only a
        new store's catch-up sends are; stores older than this rule never say so."""
        if self._created_at is None:
            self._created_at = self.meta("created_at") or ""  # read once per run
        return due_at < self._created_at

    # --- report and FHIR write-back (issue 14) ------------------------------------------

    def report_messages(self, since: datetime, until: datetime) -> list[ReportMessage]:
        """Every message due in [since, until), with its session's therapist (while the
        snapshot still holds the session) and its write-back's state."""
        rows = self._db.conn.execute(
            "select s.appointment_id, json_extract(a.data, '$.therapist.id'), "
            "json_extract(a.data, '$.therapist.name'), "
            "json_extract(a.data, '$.therapist.display_name'), s.step, s.channel, s.state, "
            "s.reason, s.due_at, s.sent_at, w.state from sends s "
            "left join appointments a on a.id = s.appointment_id "
            "left join write_backs w on w.send_id = s.id "
            "where s.due_at >= ? and s.due_at < ? order by s.due_at, s.id",
            [ts(since), ts(until)],
        )
        return [
            ReportMessage(
                appointment_id=aid,
                therapist_id=tid,
                therapist_name=name,
                therapist_display_name=display,
                step=step,
                channel=channel,
                state=state,
                reason=reason,
                due_at=parse_ts(due),
                sent_at=parse_ts(sent) if sent else None,
                write_back=wb,
            )
            for aid, tid, name, display, step, channel, state, reason, due, sent, wb in rows
        ]

    def reply_figures(self, since: datetime, until: datetime) -> list[ReplyCount]:
        """Replies received in [since, until) and link requests answered, per therapist of
        the session each reply was about. Nothing while the `replies` table does not exist
        (a store that has never read a reply): no replies, not an error."""
        exists = self._scalar(
            "select 1 from sqlite_master where type = 'table' and name = 'replies'"
        )
        if not exists:
            return []
        return [
            ReplyCount(*row)
            for row in self._db.conn.execute(
                "select json_extract(a.data, '$.therapist.id'), count(*), "
                "coalesce(sum(r.kind = 'link' and r.answered = 1), 0) from replies r "
                "left join appointments a on a.id = r.appointment_id "
                "where r.received_at >= ? and r.received_at < ? group by 1",
                [ts(since), ts(until)],
            )
        ]

    # --- replies (issue 14): what clients texted, and the answers ------------------------

    def session_starts_between(self, start: datetime, end: datetime) -> bool:
        """Whether a scheduled session starts in [start, end): one index probe, so a
        quiet cron tick learns cheaply that no reply can need an answer."""
        return bool(
            self._scalar(
                "select 1 from appointments where start >= ? and start < ? "
                "and status = 'scheduled' limit 1",
                [ts(start), ts(end)],
            )
        )

    def known_reply_sids(self, sids: Sequence[str]) -> set[str]:
        """Which of these provider ids are already recorded (the reads overlap)."""
        out: set[str] = set()
        for chunk in _chunks(list(sids), 500):
            marks = ",".join("?" * len(chunk))
            out.update(
                row[0]
                for row in self._db.conn.execute(
                    f"select sid from replies where sid in ({marks})", chunk
                )
            )
        return out

    def answered_since(self, number: str, since: datetime) -> bool:
        """Whether an automatic answer to this number was planned at or after `since`."""
        return bool(
            self._scalar(
                "select 1 from sends where step in ('link-reply', 'no-session') "
                "and recipient = ? and created_at >= ? "
                "and state not in ('canceled', 'skipped') limit 1",
                [number, ts(since)],
            )
        )

    def last_texted_about(self, number: str) -> set[str]:
        """The participant(s) the latest text to this number was about: the latest one's,
        and any other's that went within two minutes of it (a parent texted about two
        children in one run cannot be told apart)."""
        latest = self._scalar(
            "select max(sent_at) from sends where channel = 'sms' and recipient = ? "
            "and state in ('sent', 'delivered') and step not in ('link-reply', 'no-session')",
            [number],
        )
        if not latest:
            return set()
        since = ts(parse_ts(latest) - timedelta(minutes=2))
        return {
            row[0]
            for row in self._db.conn.execute(
                "select distinct participant_id from sends where channel = 'sms' "
                "and recipient = ? and state in ('sent', 'delivered') and sent_at >= ? "
                "and step not in ('link-reply', 'no-session')",
                [number, since],
            )
        }

    def record_reply(self, reply: ReplyRecord, answer: AnswerSend | None) -> bool:
        """Record one reply and, when it gets one, its answer as a pending send, in one
        transaction. The reply's unique sid and the answer's unique key make both
        exactly once: False (nothing written) when the reply was recorded before. An
        answer whose key exists already (a session answered once) is not planned again:
        the reply is recorded unanswered, with `answer.duplicate_reason`."""
        conn = self._db.conn
        with self._db.atomic():
            cursor = conn.execute(
                "insert or ignore into replies (sid, received_at, number, body, "
                "appointment_id, participant_id, answered, kind, reason) "
                "values (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                [
                    reply.sid,
                    ts(reply.received_at),
                    reply.number,
                    reply.body,
                    reply.appointment_id,
                    reply.participant_id,
                    reply.kind,
                    reply.reason,
                ],
            )
            if cursor.rowcount != 1:
                return False
            if answer is None:
                return True
            stamp = ts(answer.created_at)
            planned = conn.execute(
                "insert or ignore into sends (key, appointment_id, participant_id, step, "
                "channel, revision, due_at, expires_at, state, attempts, recipient, "
                "created_at, updated_at) values (?, ?, ?, ?, 'sms', ?, ?, ?, 'pending', 0, "
                "?, ?, ?)",
                [
                    answer.key,
                    answer.appointment_id,
                    answer.participant_id,
                    answer.step,
                    answer.revision,
                    stamp,
                    ts(answer.expires_at),
                    reply.number,
                    stamp,
                    stamp,
                ],
            )
            if planned.rowcount == 1:
                conn.execute(
                    "update replies set answer_key = ? where sid = ?", [answer.key, reply.sid]
                )
            else:
                conn.execute(
                    "update replies set reason = ? where sid = ?",
                    [answer.duplicate_reason, reply.sid],
                )
            return True

    def replies_since(self, since: datetime, limit: int = 50) -> list[ReplyRow]:
        """Replies received since `since`, newest first, with their answer's state."""
        return [
            ReplyRow(*row)
            for row in self._db.conn.execute(
                _REPLY_SELECT
                + "where r.received_at >= ? order by r.received_at desc, r.id desc limit ?",
                [ts(since), limit],
            )
        ]

    def replies_about(self, appointment_id: str) -> list[ReplyRow]:
        """Every stored reply taken to be about this session, oldest first."""
        return [
            ReplyRow(*row)
            for row in self._db.conn.execute(
                _REPLY_SELECT + "where r.appointment_id = ? order by r.received_at, r.id",
                [appointment_id],
            )
        ]

    def purge_replies(self, before: datetime) -> int:
        """Drop replies received before `before` (`[store] retention`)."""
        return self._db.conn.execute(
            "delete from replies where received_at < ?", [ts(before)]
        ).rowcount

    def enqueue_write_backs(self, sent_since: datetime, now: datetime) -> int:
        """One pending write-back for every message sent since `sent_since` that has none
        yet; the unique send_id makes a second one impossible. How many were added."""
        stamp = ts(now)
        return self._db.conn.execute(
            "insert or ignore into write_backs (send_id, state, attempts, created_at, "
            "updated_at) select id, 'pending', 0, ?, ? from sends "
            "where state in ('sent', 'delivered') and sent_at >= ? "
            "and id not in (select send_id from write_backs)",
            [stamp, stamp, ts(sent_since)],
        ).rowcount

    def due_write_backs(self, now: datetime, limit: int = 200) -> list[WriteBackRow]:
        """Pending write-backs whose retry time has come, oldest first, with what the
        record needs from their send."""
        stamp = ts(now)
        return [
            WriteBackRow(*row)
            for row in self._db.conn.execute(
                f"select {_WRITE_BACK_COLUMNS} from write_backs w join sends s "
                "on s.id = w.send_id where w.state = 'pending' "
                "and (w.next_attempt_at is null or w.next_attempt_at <= ?) "
                "order by w.id limit ?",
                [stamp, limit],
            )
        ]

    def stranded_write_backs(self) -> list[WriteBackRow]:
        """`posting` rows whose claimant is certainly gone (a crash mid-POST)."""
        return [
            row
            for row in (
                WriteBackRow(*r)
                for r in self._db.conn.execute(
                    f"select {_WRITE_BACK_COLUMNS} from write_backs w join sends s "
                    "on s.id = w.send_id where w.state = 'posting' order by w.id"
                )
            )
            if row.claimed_by is None or row.claimed_by == _claimant() or not _alive(row.claimed_by)
        ]

    def failing_write_backs(self, min_attempts: int) -> list[WriteBackRow]:
        """Write-backs not yet written after at least `min_attempts` failed POSTs."""
        return [
            WriteBackRow(*row)
            for row in self._db.conn.execute(
                f"select {_WRITE_BACK_COLUMNS} from write_backs w join sends s "
                "on s.id = w.send_id where w.state != 'written' and w.attempts >= ? "
                "order by w.id",
                [min_attempts],
            )
        ]

    def claim_write_back(self, write_back_id: int, now: datetime) -> bool:
        """pending -> posting, for exactly one caller (recording which process)."""
        cursor = self._db.conn.execute(
            "update write_backs set state = 'posting', attempts = attempts + 1, "
            "claimed_by = ?, updated_at = ? where id = ? and state = 'pending'",
            [_claimant(), ts(now), write_back_id],
        )
        return cursor.rowcount == 1

    def mark_written(self, write_back_id: int, now: datetime, resource_id: str | None) -> bool:
        """posting -> written: the EHR holds the record."""
        cursor = self._db.conn.execute(
            "update write_backs set state = 'written', resource_id = ?, error = null, "
            "next_attempt_at = null, updated_at = ? where id = ? and state = 'posting'",
            [resource_id, ts(now), write_back_id],
        )
        return cursor.rowcount == 1

    def retry_write_back(
        self, write_back_id: int, now: datetime, error: str | None, retry_at: datetime | None
    ) -> bool:
        """posting -> pending: the POST failed (or its run died); tried again from
        `retry_at`. The record is posted conditionally, so a retry never makes two."""
        cursor = self._db.conn.execute(
            "update write_backs set state = 'pending', error = coalesce(?, error), "
            "next_attempt_at = ?, updated_at = ? where id = ? and state = 'posting'",
            [error, ts(retry_at) if retry_at else None, ts(now), write_back_id],
        )
        return cursor.rowcount == 1


class ReplyRecord(NamedTuple):
    """A reply as `record_reply` stores it."""

    sid: str
    received_at: datetime
    number: str
    body: str
    kind: str
    appointment_id: str | None
    participant_id: str | None
    reason: str | None


class AnswerSend(NamedTuple):
    """The answer to a reply, planned as a send row (step link-reply or no-session)."""

    key: str
    step: str
    appointment_id: str
    participant_id: str
    revision: int
    created_at: datetime
    expires_at: datetime
    duplicate_reason: str


class ReplyRow(NamedTuple):
    """A stored reply with its answer's state (None: no answer was planned)."""

    received_at: str
    number: str
    body: str | None
    appointment_id: str | None
    participant_id: str | None
    answered: int
    kind: str
    reason: str | None
    answer_state: str | None
    answer_reason: str | None


class WriteBackRow(NamedTuple):
    """A write-back with what its record needs from the send it records."""

    id: int
    send_id: int
    state: str
    attempts: int
    error: str | None
    claimed_by: str | None
    key: str
    appointment_id: str
    participant_id: str
    step: str
    channel: str
    sent_at: str | None


_WRITE_BACK_COLUMNS = (
    "w.id, w.send_id, w.state, w.attempts, w.error, w.claimed_by, s.key, s.appointment_id, "
    "s.participant_id, s.step, s.channel, s.sent_at"
)


class ClaimedMessage(NamedTuple):
    """What a claim records: the message as it goes."""

    recipient: str
    body: str
    subject: str | None
    segments: int | None
    encoding: str | None


def _connect_ro(path: Path, options: str) -> sqlite3.Connection:
    """A read-only connection to the database at `path` (URI `options`)."""
    uri = f"{path.absolute().as_uri()}?{options}"
    return sqlite3.connect(uri, uri=True, timeout=5.0, isolation_level=None)


def _proc(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a process, from /proc; None when
    it cannot be read. With the boot id, the start time tells a live process from a
    later one that reuses its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the name may hold spaces and parentheses
    return fields[0], fields[19]


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


@cache
def _claimant() -> str:
    """Who claims a send: this process, as boot id, pid and start time."""
    pid = os.getpid()
    proc = _proc(pid)
    return f"{_boot_id()}:{pid}:{proc[1] if proc else ''}"


def _alive(claimant: str) -> bool:
    """Whether the process that wrote `claimant` may still be running. Any doubt counts
    as alive: a send is never retried while its first attempt may still be under way."""
    try:
        boot, pid_text, start = claimant.split(":")
        pid = int(pid_text)
    except ValueError:
        return False  # not written by `_claimant`: no process to ask about
    if boot != _boot_id():
        return False  # the machine restarted since: every process of then is gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    proc = _proc(pid)
    if proc is None or not start:
        return True
    return proc[0] != "Z" and proc[1] == start  # a zombie has finished; a new start, reused


def _load(data: str) -> Appointment:
    try:
        return parse_appointment(json.loads(data))
    except (RecordError, ValueError) as exc:  # pragma: no cover - written by us
        raise StoreError(f"a snapshot row is damaged: {exc}") from None


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
