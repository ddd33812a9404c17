"""The store, directly: its state machine, typed rows, send keys, claims, and the store
as the CLI meets it (a key format from an older version, a read-only file, a new store)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from linkcli.core.plan import PlannedSend, send_key
from linkcli.core.reconcile import SyncPlan
from linkcli.migrations import migrations
from linkcli.store import ClaimedMessage, SendRow, Store, _claimant
from tests.conftest import TWILIO_ENV, ZOOM, Practice, appointment, client
from tests.twilio_server import TwilioServer

NOW = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
GRACE = timedelta(seconds=40)
MESSAGE = ClaimedMessage("+16175550101", "Reminder", None, 1, "GSM-7")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "linkcli.db")
    yield opened
    opened.close()


def add_send(store: Store, key: str = "apt-1/cl-1/reminder-24h/sms/r1") -> int:
    planned = PlannedSend(
        key, "apt-1", "cl-1", "reminder-24h", "sms", 1, NOW - timedelta(minutes=1), NOW
    )
    store.apply_sync(SyncPlan(inserts=[planned]), NOW - timedelta(hours=1))
    (row,) = [r for r in store.due_sends(NOW) if r.key == key]
    return row.id


def force_state(store: Store, send_id: int, state: str) -> None:
    """Put a row in a state directly, as a test fixture (the store has no such method)."""
    with sqlite3.connect(store.path) as db:
        db.execute("update sends set state = ? where id = ?", [state, send_id])


def state_of(store: Store, send_id: int) -> str:
    row = store.send(send_id)
    assert row is not None
    return row.state


STATES = ("pending", "sending", "sent", "delivered", "failed", "canceled", "skipped")

# Each transition and the states it may leave; every other state refuses it.
TRANSITIONS: dict[str, tuple[str, tuple[str, ...], Callable[[Store, int], bool]]] = {
    "mark_sent": ("sent", ("sending",), lambda s, i: s.mark_sent(i, 0, NOW, "SM1", "queued", 1)),
    "mark_found": (
        "sent",
        ("sending",),
        lambda s, i: s.mark_found(i, NOW, "SM1", "delivered", None, "found"),
    ),
    "release_to_pending": ("pending", ("sending",), lambda s, i: s.release_to_pending(i, NOW, "x")),
    "keep_sending": ("sending", ("sending",), lambda s, i: s.keep_sending(i, NOW, "no answer")),
    "note_waiting": ("pending", ("pending",), lambda s, i: s.note_waiting(i, NOW, "quiet hours")),
    "mark_failed": ("failed", ("pending", "sending"), lambda s, i: s.mark_failed(i, NOW, "x")),
    "cancel": ("canceled", ("pending",), lambda s, i: s.cancel(i, NOW, "moved")),
    "skip": ("skipped", ("pending",), lambda s, i: s.skip(i, NOW, "too late")),
    "note_delivery": ("sent", ("sent",), lambda s, i: s.note_delivery(i, NOW, "sent")),
    "delivered": (
        "delivered",
        ("sent",),
        lambda s, i: s.advance_delivery(i, "delivered", "delivered", None, NOW),
    ),
    "undelivered": (
        "failed",
        ("sent",),
        lambda s, i: s.advance_delivery(i, "failed", "undelivered", "30003", NOW, "x"),
    ),
}


@pytest.mark.parametrize("start", STATES)
@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_each_transition_moves_only_from_its_states(store, name, start):
    target, allowed, move = TRANSITIONS[name]
    send_id = add_send(store)
    force_state(store, send_id, start)
    moved = move(store, send_id)
    assert moved is (start in allowed)
    assert state_of(store, send_id) == (target if moved else start)


@pytest.mark.parametrize("start", STATES)
def test_claim_takes_only_a_pending_row_and_only_once(store, start):
    send_id = add_send(store)
    force_state(store, send_id, start)
    attempt = store.claim(send_id, NOW, MESSAGE)
    if start != "pending":
        assert attempt is None and state_of(store, send_id) == start
        return
    assert attempt and store.claim(send_id, NOW, MESSAGE) is None
    row = store.send(send_id)
    assert row is not None
    assert (row.state, row.recipient, row.body, row.attempts) == (
        "sending",
        "+16175550101",
        "Reminder",
        1,
    )
    assert row.claimed_by == _claimant()


def test_advance_delivery_refuses_a_state_that_is_not_final(store):
    send_id = add_send(store)
    force_state(store, send_id, "sent")
    assert store.advance_delivery(send_id, "pending", "queued", None, NOW) is False
    assert state_of(store, send_id) == "sent"


def test_rows_are_typed_and_frozen(store):
    add_send(store)
    (row,) = store.due_sends(NOW)
    assert isinstance(row, SendRow)
    assert (row.step, row.channel, row.revision, row.state) == ("reminder-24h", "sms", 1, "pending")
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.state = "sent"  # type: ignore[misc]
    store.record_sync(NOW, NOW, "file", ok=True, problems=["record 'x' is bad"])
    last = store.last_sync()
    assert last is not None and last.ok == 1 and last.source == "file"
    assert store.last_good_problems() == ["record 'x' is bad"]
    store.set_health("+16175550101", "sms", NOW, opted_out=1, reason="client replied STOP")
    health = store.health("+16175550101")
    assert health is not None and (health.opted_out, health.bad) == (1, 0)


def test_the_store_has_no_public_query():
    assert not hasattr(Store, "query") and not hasattr(Store, "set_state")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("A/p1", "p2"), ("A", "p1/p2")),
        (("A", "p1/p2"), ("A/p1", "p2")),
        (("A%2Fp1", "p2"), ("A/p1", "p2")),
        (("A", "p%2F"), ("A", "p/")),
        (("a/b/c", "d"), ("a", "b/c/d")),
        (("", "x/y"), ("x", "y")),
    ],
)
def test_send_keys_of_different_ids_never_collide(one, other):
    assert send_key(*one, "final-30m", "sms", 1) != send_key(*other, "final-30m", "sms", 1)


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (("apt-1", "cl-1", "reminder-24h", "sms", 2), "apt-1/cl-1/reminder-24h/sms/r2"),
        (("apt 1", "cl:1@x", "final-30m", "email", 1), "apt 1/cl:1@x/final-30m/email/r1"),
        (("A/p1", "p2", "final-30m", "sms", 1), "A%2Fp1/p2/final-30m/sms/r1"),
        (("A", "p1/p2", "final-30m", "sms", 1), "A/p1%2Fp2/final-30m/sms/r1"),
        (("50%", "p", "s", "sms", 1), "50%25/p/s/sms/r1"),
    ],
)
def test_send_keys_of_plain_ids_keep_their_old_form(args, key):
    assert send_key(*args) == key


def test_a_send_key_is_unique_in_the_database(store):
    add_send(store, "k/1")
    planned = PlannedSend("k/1", "apt-2", "cl-2", "final-30m", "sms", 1, NOW, NOW)
    store.apply_sync(SyncPlan(inserts=[planned]), NOW)
    assert [r.appointment_id for r in store.due_sends(NOW)] == ["apt-1"]


# --- claims and liveness ----------------------------------------------------------------


def claimed_by(store: Store, send_id: int, claimant: str | None) -> None:
    with sqlite3.connect(store.path) as db:
        db.execute(
            "update sends set state = 'sending', claimed_by = ? where id = ?", [claimant, send_id]
        )


def start_time(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_sending_row_is_left_alone_while_its_claimant_lives(store):
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    send_id = add_send(store)
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=-1)
    try:
        live = f"{boot}:{other.pid}:{start_time(other.pid)}"
        claimed_by(store, send_id, live)
        assert store.stranded(NOW, GRACE) == []  # another run is mid-send: never retried
        claimed_by(store, send_id, f"{boot}:{other.pid}:1")  # the pid, reused by a new process
        assert [r.id for r in store.stranded(NOW, GRACE)] == [send_id]
    finally:
        other.communicate(b"")
    claimed_by(store, send_id, live)  # its run has ended
    assert [r.id for r in store.stranded(NOW, GRACE)] == [send_id]
    for leftover in (None, _claimant(), f"another-boot:{os.getpid()}:1"):
        claimed_by(store, send_id, leftover)  # older version, this process's earlier run, reboot
        assert [r.id for r in store.stranded(NOW, GRACE)] == [send_id]


def test_a_fresh_claim_of_a_process_that_looks_gone_is_left_alone(store):
    """A claimant in another pid namespace looks gone from here: its claim is settled
    only once it is older than one attempt can last."""
    send_id = add_send(store)
    claimed_by(
        store, send_id, f"{Path('/proc/sys/kernel/random/boot_id').read_text().strip()}:999999999:1"
    )
    claimed_at = NOW - timedelta(hours=1)  # what add_send's sync stamped
    assert store.stranded(claimed_at + GRACE - timedelta(seconds=1), GRACE) == []
    assert [r.id for r in store.stranded(claimed_at + GRACE, GRACE)] == [send_id]


# --- through the CLI ----------------------------------------------------------------------


def test_ids_with_slashes_never_share_a_send(practice):
    practice.schedule(
        appointment(id="A/p1", participants=[client(id="p2", mobile="+1 617 555 0102")]),
        appointment(id="A", participants=[client(id="p1/p2", mobile="+1 617 555 0103")]),
    )
    practice.ok("2026-11-23T12:00:00Z", "sync")
    practice.ok("2026-11-23T20:00:00Z", "dispatch")
    assert sorted(m["to"] for m in practice.sms()) == ["+16175550102", "+16175550103"]
    assert len(practice.emails()) == 2


def test_a_pending_send_of_an_older_store_is_sent_once_after_the_key_change(practice):
    practice.schedule(appointment(id="A/p1", participants=[client(id="p2")]))
    # A store written by the version before escaped keys: migrations up to 0004 only,
    # then the old key form written the way that version wrote it.
    practice.ok("2026-11-23T12:00:00Z", "sync")
    with sqlite3.connect(practice.db) as conn:
        conn.execute("update sends set key = replace(key, 'A%2Fp1/', 'A/p1/')")
        conn.execute("delete from _sqlite_migrations where name = '0005_escaped_send_keys'")
        assert conn.execute("select count(*) from sends where key like 'A/p1/%'").fetchone()[0]
    practice.ok("2026-11-23T18:00:00Z", "sync")  # migrates, then plans the same keys again
    practice.ok("2026-11-23T20:00:00Z", "dispatch")
    practice.ok("2026-11-24T19:25:00Z", "sync")
    practice.ok("2026-11-24T19:30:00Z", "dispatch")
    steps = sorted(m["key"].split("/")[2] for m in practice.sms())
    assert steps == ["final-30m", "reminder-24h"]  # each once: none lost, none doubled
    with sqlite3.connect(practice.db) as conn:
        keys = [k for (k,) in conn.execute("select key from sends order by id")]
    assert keys and all(k.startswith("A%2Fp1/p2/") for k in keys)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_status_and_explain_leave_a_read_only_store_as_it_is(practice):
    practice.ok("2026-11-23T12:00:00Z", "sync")
    os.chmod(practice.db, 0o444)
    before = digest(practice.db)
    shown = practice.status("2026-11-23T12:05:00Z")
    assert shown["upcoming"][0]["step"] == "reminder-24h"
    explained = practice.ok("2026-11-23T12:05:00Z", "explain", "apt-1001")
    assert "apt-1001" in explained.stdout
    assert (os.stat(practice.db).st_mode & 0o777, digest(practice.db)) == (0o444, before)


def test_status_of_a_missing_store_creates_nothing(practice):
    assert practice.status("2026-11-23T12:05:00Z")["sends"]["pending"] == 0
    assert sorted(p.name for p in practice.root.iterdir()) == ["appointments.json", "config.toml"]


def test_status_of_a_store_that_needs_an_upgrade_says_so(practice):
    db = Database(practice.db)
    migrations.apply(db, stop_before="0004_claimed_by")
    db.close()
    before = digest(practice.db)
    result = practice.cli("2026-11-23T12:05:00Z", "status")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"linkcli: error: the database {practice.db} was written by")
    assert "run `linkcli sync` (or `linkcli dispatch`) once to upgrade it" in result.stderr
    assert result.stderr.count("\n") == 1 and digest(practice.db) == before


def twilio_config(practice: Practice, url: str) -> None:
    practice.write_config(
        sms=f'provider = "twilio"\nfrom_number = "+16175550100"\napi_base_url = "{url}"'
    )
    practice.extra_env.update(TWILIO_ENV)


REMINDER = (
    f"Reminder: Dr. Chen session tomorrow at 3:00 PM. Join here: {ZOOM} Reply STOP to opt out."
)


def remove_store(practice: Practice) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{practice.db}{suffix}").unlink(missing_ok=True)


def test_a_deleted_store_is_announced_once_and_does_not_resend_todays_texts(practice):
    with TwilioServer() as twilio:
        twilio_config(practice, twilio.url)
        first = practice.ok("2026-11-23T12:00:00Z", "sync")
        assert "new database" not in first.stderr  # the first install is not a surprise
        practice.ok("2026-11-23T20:00:00Z", "dispatch")
        remove_store(practice)
        again = practice.ok("2026-11-23T20:10:00Z", "sync")
        assert again.stderr == (
            f"linkcli: warning: a new database was created at {practice.db}: the previous "
            "one is gone, so the send history starts again (texts already sent are looked up "
            "at Twilio before they could go twice)\n"
        )
        practice.ok("2026-11-23T20:11:00Z", "dispatch")
        assert practice.ok("2026-11-23T20:12:00Z", "sync").stderr == ""
        assert [m["body"] for m in twilio.state.messages] == [REMINDER]
        assert twilio.state.creates == 1
        recent = practice.status("2026-11-23T20:12:00Z")["recent"]
        sms = [r for r in recent if r["channel"] == "sms"]
        assert [(r["state"], r["reason"]) for r in sms] == [
            ("sent", "already sent before this database was created")
        ]


def test_a_deleted_lock_file_never_lets_a_second_run_resend(practice, smtp_server):
    """Run 1 is mid-send (the SMTP server holds its message); the lock file is deleted;
    run 2 gets a new lock and must leave run 1's 'sending' row alone."""
    server = smtp_server()
    gate = _hold_data(server)
    practice.write_config(
        sms='provider = "outbox"',
        email=f'provider = "smtp"\nsmtp_host = "127.0.0.1"\nsmtp_port = {server.port}\n'
        'security = "none"\nfrom_address = "reminders@example.org"',
    )
    practice.schedule(appointment(participants=[client(mobile=None)]))
    practice.ok("2026-11-23T12:00:00Z", "sync")
    env = {**os.environ, **practice.env("2026-11-23T20:00:00Z")}
    first = subprocess.Popen(
        [sys.executable, "-m", "linkcli", "dispatch"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert gate.arrived.wait(30), "the first run never reached the SMTP server"
        Path(f"{practice.db}.lock").unlink()
        second = subprocess.run(
            [sys.executable, "-m", "linkcli", "dispatch"],
            env={**env, "LINKCLI_NOW": "2026-11-23T20:01:00Z"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        gate.release()
        first.wait(60)
    assert (second.returncode, second.stderr) == (0, "")
    assert first.returncode == 0, first.stderr.read() if first.stderr else ""
    assert server.inbox.recipients == [["alex@example.org"]]  # one email, not two


class _Gate:
    """Holds every SMTP DATA until released; says when the first one arrived."""

    def __init__(self, loop: Any) -> None:
        import asyncio
        import threading

        self.loop = loop
        self.arrived = threading.Event()
        self.open = asyncio.Event()

    def release(self) -> None:
        self.loop.call_soon_threadsafe(self.open.set)


def _hold_data(server: Any) -> _Gate:
    gate = _Gate(server.controller.loop)
    inbox = server.inbox
    deliver = inbox.handle_DATA

    async def handle_DATA(smtp: Any, session: Any, envelope: Any) -> str:
        gate.arrived.set()
        await gate.open.wait()
        return await deliver(smtp, session, envelope)

    inbox.handle_DATA = handle_DATA  # type: ignore[method-assign]
    return gate
