"""The outbox channels: one JSON line per message, in an owner-only file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from linkcli.channels.base import EmailMessage, SmsMessage
from linkcli.channels.outbox import OutboxEmail, OutboxSms, read_outbox
from linkcli.config import EmailConfig, SmsConfig


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_sms_two_messages_two_lines(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "sms.jsonl"  # parents do not exist yet
    channel = OutboxSms(SmsConfig(outbox_path=path), {})
    r1 = channel.send(
        SmsMessage(to="+15555550101", body="Your link: https://v.example.org/1", key="k1")
    )
    r2 = channel.send(SmsMessage(to="+15555550102", body="Ünïcode ok", key="k2"))

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first == {
        "channel": "sms",
        "to": "+15555550101",
        "body": "Your link: https://v.example.org/1",
        "key": "k1",
        "provider_id": r1.provider_id,
    }
    assert second["body"] == "Ünïcode ok" and second["key"] == "k2"
    assert r1.status == "sent" and r1.segments is None
    assert r1.provider_id and r1.provider_id.startswith("outbox-")
    assert r1.provider_id != r2.provider_id
    assert _mode(path) == 0o600
    assert read_outbox(path) == [first, second]


def test_email_records_fields(tmp_path: Path) -> None:
    path = tmp_path / "email.jsonl"
    channel = OutboxEmail(EmailConfig(outbox_path=path), {})
    base = {"to_name": "Alex Doe", "subject": "Your session", "text": "Hi", "html": "<p>Hi</p>"}
    channel.send(EmailMessage(to="alex@example.org", key="e1", **base))
    result = channel.send(
        EmailMessage(
            to="sam@example.org", key="e2", ics=b"BEGIN:VCALENDAR\r\n", ics_method="cancel", **base
        )
    )

    records = read_outbox(path)
    assert len(records) == 2
    assert records[0] == {
        "channel": "email",
        "to": "alex@example.org",
        "to_name": "Alex Doe",
        "subject": "Your session",
        "text": "Hi",
        "has_ics": False,
        "ics_method": None,
        "key": "e1",
        "provider_id": records[0]["provider_id"],
    }
    assert records[1]["has_ics"] is True
    assert records[1]["ics_method"] == "CANCEL"
    assert records[1]["provider_id"] == result.provider_id
    assert _mode(path) == 0o600


def test_existing_file_is_tightened_and_appended(tmp_path: Path) -> None:
    path = tmp_path / "sms.jsonl"
    path.write_text('{"channel": "sms", "key": "old"}\n')
    path.chmod(0o644)
    OutboxSms(SmsConfig(outbox_path=path), {}).send(SmsMessage("+15555550103", "x", "new"))
    assert [r["key"] for r in read_outbox(path)] == ["old", "new"]
    assert _mode(path) == 0o600


def test_read_missing_outbox(tmp_path: Path) -> None:
    assert read_outbox(tmp_path / "none.jsonl") == []
