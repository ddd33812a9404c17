"""The `file` source: the canonical JSON format, a list or {"appointments": [...]}.

It is the exchange format for tests and demos and implements the same protocol as the
HTTP sources.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from linkcli.config import Config
from linkcli.core.model import RecordError, parse_appointment
from linkcli.errors import SourceError
from linkcli.private_file import read_input
from linkcli.sources.base import Listing, Window


class FileSource:
    """Reads appointments from a local JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"file {path}"
        # id -> raw fingerprint from the last sync; records that read the same are
        # reported unchanged without being parsed (sync sets this when it may).
        self.known_raw: Mapping[str, str] | None = None

    def fetch(self, window: Window) -> Listing:
        """Every record of the file whose start falls in the window."""
        try:
            raw = json.loads(read_input(self.path).decode("utf-8"))
        except FileNotFoundError:
            raise SourceError(f"source file {self.path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read source file {self.path}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise SourceError(
                f"source file {self.path} is not valid JSON (line {exc.lineno}, column "
                f"{exc.colno}: {exc.msg}); nothing was changed"
            ) from None
        return parse_listing(raw, window, f"source file {self.path}", self.known_raw)


def raw_digest(record: Any) -> str:
    """A cheap fingerprint of a record as read (key order included: same file, same text)."""
    return hashlib.sha1(repr(record).encode(), usedforsecurity=False).hexdigest()


def parse_listing(
    raw: Any, window: Window, where: str, known_raw: Mapping[str, str] | None = None
) -> Listing:
    """Parse a canonical listing; one bad record is a problem, a bad whole is an error.

    With `known_raw` given, every record's raw fingerprint is reported, and one whose
    fingerprint is there under its id is listed as unchanged without parsing it: a
    no-change sync of a large practice costs a hash per record."""
    if isinstance(raw, dict) and "appointments" in raw:
        raw = raw["appointments"]
    if not isinstance(raw, list):
        raise SourceError(
            f'{where} must hold a JSON list of appointments or {{"appointments": [...]}}'
        )
    listing = Listing()
    for index, record in enumerate(raw):
        rid = record.get("id") if isinstance(record, dict) else None
        rid = str(rid).strip() if isinstance(rid, str | int) and not isinstance(rid, bool) else None
        if rid and known_raw is not None:
            digest = raw_digest(record)
            listing.raw_digests[rid] = digest
            if known_raw.get(rid) == digest and rid not in listing.listed_ids:
                listing.listed_ids.add(rid)
                listing.unchanged_ids.add(rid)
                continue
        try:
            appointment = parse_appointment(record)
        except RecordError as exc:
            listing.skip(f"record #{index + 1} skipped: {exc}", exc.record_id)
            continue
        listing.add(appointment, window, f"record #{index + 1}")
    return listing


def build(config: Config, env: Mapping[str, str], now: datetime) -> FileSource:
    """The file source for this config."""
    return FileSource(Path(config.source.settings["path"]))
