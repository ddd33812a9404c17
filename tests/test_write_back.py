"""FHIR write-back against a FHIR server on 127.0.0.1: one R4 Communication per sent
message (checked against the R4B models of fhir.resources), exactly once across a
kill -9 and repeated runs, a failing POST retried on a later run without touching the
sends, and shown under `attention` after repeated failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fhir.resources.R4B.communication import Communication

from tests.conftest import OUTBOX_CHANNELS, Practice, write_config

ZOOM = "https://us02web.zoom.us/j/85512345678?pwd=AbCdEf123"
VS_URL = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService"
FIRST_SYNC = "2026-11-20T12:00:00Z"
DUE = "2026-11-23T20:00:00Z"  # reminder-24h of the 15:00 EST session on Tue 24 Nov
TOKEN = "fhir-token-test-only"


def bundle() -> dict[str, Any]:
    """One booked telehealth session with its Patient and Practitioner included."""
    appointment = {
        "resourceType": "Appointment",
        "id": "apt-77",
        "status": "booked",
        "start": "2026-11-24T15:00:00-05:00",
        "end": "2026-11-24T15:50:00-05:00",
        "participant": [
            {"actor": {"reference": "Practitioner/prac-1"}, "status": "accepted"},
            {"actor": {"reference": "Patient/pat-9"}, "status": "accepted"},
        ],
        "extension": [{"url": VS_URL, "extension": [{"url": "address", "valueUrl": ZOOM}]}],
    }
    patient = {
        "resourceType": "Patient",
        "id": "pat-9",
        "name": [{"given": ["Alex"], "family": "Rivera"}],
        "telecom": [
            {"system": "phone", "use": "mobile", "value": "+16175550101"},
            {"system": "email", "value": "alex@example.org"},
        ],
    }
    practitioner = {"resourceType": "Practitioner", "id": "prac-1", "name": [{"text": "Maya Chen"}]}
    entries = [
        {"resource": appointment, "search": {"mode": "match"}},
        {"resource": patient, "search": {"mode": "include"}},
        {"resource": practitioner, "search": {"mode": "include"}},
    ]
    return {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": entries}


@dataclass
class FhirState:
    """What the EHR holds and how it answers the next POST."""

    stored: list[dict[str, Any]] = field(default_factory=list)
    posts: int = 0
    fail_with: int | None = None  # answer every POST with this status while set
    hang: str | None = None  # "before" or "after" storing: hold the POST unanswered
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, body: dict[str, Any], if_none_exist: str | None) -> tuple[int, Any]:
        """A conditional create, as FHIR servers do it: an existing match is returned."""
        if self.fail_with is not None:
            issue = {"severity": "error", "code": "exception", "diagnostics": "database down"}
            return self.fail_with, {"resourceType": "OperationOutcome", "issue": [issue]}
        with self.lock:
            if if_none_exist:
                wanted = parse_qs(if_none_exist)["identifier"][0]
                for known in self.stored:
                    ident = known["identifier"][0]
                    if f"{ident['system']}|{ident['value']}" == wanted:
                        return 200, known
            record = {**body, "id": f"comm-{len(self.stored) + 1}"}
            self.stored.append(record)
            return 201, record


class FhirServer:
    """A FHIR R4 server on 127.0.0.1: the Appointment search and Communication create."""

    def __init__(self) -> None:
        self.state = FhirState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                assert self.headers["Authorization"] == f"Bearer {TOKEN}"
                if urlsplit(self.path).path == "/r4/Appointment":
                    self._answer(200, bundle())
                else:
                    self._answer(404, {"resourceType": "OperationOutcome", "issue": []})

            def do_POST(self) -> None:
                assert urlsplit(self.path).path == "/r4/Communication"
                assert self.headers["Authorization"] == f"Bearer {TOKEN}"
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                state.posts += 1
                if state.hang == "before":
                    state.reached.set()
                    state.release.wait(30)
                    return
                status, answer = state.create(body, self.headers.get("If-None-Exist"))
                if state.hang == "after":
                    state.reached.set()
                    state.release.wait(30)
                    return
                self._answer(status, answer)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/r4"

    def __enter__(self) -> FhirServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.state.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def ehr(tmp_path: Path) -> Iterator[tuple[Practice, FhirServer]]:
    with FhirServer() as server:
        write_config(
            tmp_path,
            f"""
            [practice]
            name = "Harbor Counseling"
            timezone = "America/New_York"

            [source]
            kind = "fhir"
            base_url = "{server.base}"
            write_back = true
            """,
            OUTBOX_CHANNELS,
        )
        practice = Practice(tmp_path, extra_env={"FHIR_TOKEN": TOKEN})
        practice.ok(FIRST_SYNC, "run")
        yield practice, server


def sent_messages(practice: Practice) -> int:
    return len(practice.sms()) + len(practice.emails())


def test_each_sent_message_becomes_one_valid_communication(ehr):
    practice, server = ehr
    practice.ok(DUE, "run")
    practice.ok("2026-11-23T20:01:00Z", "run")  # a later run posts nothing again
    assert sent_messages(practice) == 2  # the reminder's text and email
    stored = server.state.stored
    assert server.state.posts == 2 and len(stored) == 2
    for record in stored:
        Communication.model_validate(record)  # a valid R4(B) Communication
        raw = json.dumps(record)
        assert ZOOM not in raw and "payload" not in record  # no body, no link
        assert "555" not in raw and "example.org" not in raw  # nor the client's contact
    by_medium = {r["medium"][0]["coding"][0]["code"]: r for r in stored}
    assert sorted(by_medium) == ["EMAILWRIT", "SMSWRIT"]
    text = by_medium["SMSWRIT"]
    assert text["status"] == "completed"
    assert text["subject"] == {"reference": "Patient/pat-9"}
    assert text["recipient"] == [{"reference": "Patient/pat-9"}]
    assert text["about"] == [{"reference": "Appointment/apt-77"}]
    assert text["sent"] == DUE
    assert text["medium"][0]["coding"][0]["system"] == (
        "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
    )
    report = json.loads(practice.ok("2026-11-23T21:00:00Z", "report", "--json").stdout)
    assert report["write_back"] == {"written": 2, "pending": 0}


def test_a_failing_post_is_retried_later_never_blocking_or_repeating_a_send(ehr):
    practice, server = ehr
    server.state.fail_with = 500
    first = practice.cli(DUE, "run")
    assert first.exit_code == 0, first.stderr  # the sends went; the EHR is not a failure
    assert first.stderr == ""
    assert sent_messages(practice) == 2 and server.state.stored == []
    # Retried on the next runs (1, then 2 minutes later), the texts never again.
    for now in ("2026-11-23T20:01:00Z", "2026-11-23T20:03:00Z"):
        practice.ok(now, "run")
    attention = practice.status("2026-11-23T20:04:00Z")["attention"]
    items = [a for a in attention if a["kind"] == "write_back"]
    assert len(items) == 1, attention  # after three failed tries, a human is told
    assert items[0]["appointment"] == "apt-77" and "HTTP 500" in items[0]["reason"]
    assert "database down" in items[0]["reason"]
    server.state.fail_with = None
    practice.ok("2026-11-23T20:07:00Z", "run")
    assert len(server.state.stored) == 2
    assert sent_messages(practice) == 2
    attention = practice.status("2026-11-23T20:08:00Z")["attention"]
    assert [a for a in attention if a["kind"] == "write_back"] == []


@pytest.mark.parametrize("moment", ["before", "after"])
def test_killed_mid_write_back_records_each_message_exactly_once(ehr, moment):
    """kill -9 while the POST is under way: before the EHR stored it, or after it stored
    it but before linkcli heard back. The next run records each message once."""
    practice, server = ehr
    server.state.hang = moment
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkcli", "run"],
        env={**os.environ, **practice.env(DUE)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert server.state.reached.wait(60), proc.communicate(timeout=5)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert sent_messages(practice) == 2  # both messages went before the write-back
    server.state.hang = None
    server.state.release.set()
    practice.ok("2026-11-23T20:01:00Z", "run")
    practice.ok("2026-11-23T20:02:00Z", "run")
    assert len(server.state.stored) == 2
    keys = {r["identifier"][0]["value"] for r in server.state.stored}
    assert len(keys) == 2
    assert sent_messages(practice) == 2  # and no message went twice


def test_write_back_is_checked_by_the_config_reader_with_its_line(tmp_path):
    write_config(
        tmp_path,
        """
        [source]
        kind = "fhir"
        base_url = "https://fhir.example.org/r4"
        write_back = "yes"
        """,
    )
    result = Practice(tmp_path).cli(DUE, "dispatch")
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "source.write_back (line 5): must be true or false, found 'yes'\n"
    )


def test_without_write_back_nothing_is_posted(ehr, tmp_path):
    practice, server = ehr
    config = practice.config.read_text().replace("write_back = true", "write_back = false")
    practice.config.write_text(config)
    practice.ok(DUE, "run")
    assert sent_messages(practice) == 2 and server.state.posts == 0


def test_a_quiet_tick_with_write_back_on_loads_no_http_library(ehr):
    """Nothing due and nothing to record: the write-back hook costs two store reads."""
    practice, _ = ehr
    code = (
        "import sys\n"
        "from linkcli.cli import app\n"
        "try:\n    app(['dispatch'])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'twilio', 'httpx'}))"
    )
    env = {**practice.env("2026-11-21T12:00:00Z"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stderr
