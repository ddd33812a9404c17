"""Channels that record messages in a JSON-lines file instead of sending them.

For dry runs, demos and tests: every "send" appends one JSON object per line to
`outbox_path` and always succeeds. The file holds client names, addresses and numbers,
so it is created owner-only (0600) and tightened to 0600 if it already existed.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from linkcli.channels.base import ChannelError, EmailMessage, SendResult, SmsMessage
from linkcli.config import EmailConfig, SmsConfig
from linkcli.private_file import make_private_dirs, refuse_symlink

FILE_MODE = 0o600


class OutboxSms:
    """An `SmsChannel` that appends each message to `config.outbox_path`."""

    def __init__(self, config: SmsConfig, env: Mapping[str, str]) -> None:
        """`env` is accepted for the same signature as real channels; it is not used."""
        self.path = Path(config.outbox_path)

    def send(self, message: SmsMessage) -> SendResult:
        """Record the message; return a fresh `outbox-…` provider id."""
        provider_id = _new_id()
        _append(
            self.path,
            {
                "channel": "sms",
                "to": message.to,
                "body": message.body,
                "key": message.key,
                "provider_id": provider_id,
            },
        )
        return SendResult(provider_id=provider_id, status="sent", segments=None)


class OutboxEmail:
    """An `EmailChannel` that appends each message (without HTML and ICS bytes)."""

    def __init__(self, config: EmailConfig, env: Mapping[str, str]) -> None:
        """`env` is accepted for the same signature as real channels; it is not used."""
        self.path = Path(config.outbox_path)

    def send(self, message: EmailMessage) -> SendResult:
        """Record the message; return a fresh `outbox-…` provider id."""
        provider_id = _new_id()
        has_ics = message.ics is not None
        _append(
            self.path,
            {
                "channel": "email",
                "to": message.to,
                "to_name": message.to_name,
                "subject": message.subject,
                "text": message.text,
                "has_ics": has_ics,
                "ics_method": (message.ics_method or "REQUEST").upper() if has_ics else None,
                "key": message.key,
                "provider_id": provider_id,
            },
        )
        return SendResult(provider_id=provider_id, status="sent", segments=None)


def read_outbox(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """All records of an outbox file, oldest first; [] if it does not exist yet."""
    try:
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except FileNotFoundError:
        return []


def _new_id() -> str:
    # Random rather than a line count: counting would mean reading the file, and two
    # runs appending to the same outbox could then hand out the same id.
    return f"outbox-{uuid.uuid4().hex}"


def _append(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line with a single write, creating the file as 0600."""
    try:
        refuse_symlink(path, "the outbox")
        make_private_dirs(path.parent)
    except OSError as exc:
        # Every send would meet the same link: stop the run, leave the sends pending.
        raise ChannelError(str(exc), kind="auth") from None
    # ensure_ascii=False keeps names readable; one os.write of the whole line with
    # O_APPEND keeps concurrent appenders from interleaving within a line.
    line = (json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
    try:
        # The mode given to os.open is ignored for an existing file (and masked by the
        # umask for a new one), so set it explicitly.
        os.fchmod(fd, FILE_MODE)
        written = os.write(fd, line)
        while written < len(line):  # regular files rarely write short, but may
            written += os.write(fd, line[written:])
    finally:
        os.close(fd)
