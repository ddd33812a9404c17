"""The only place linkcli reads the wall clock.

`LINKCLI_NOW` (an ISO 8601 instant) replaces the real time for simulation, replay and
tests. Everything downstream receives the instant as a value and computes in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from linkcli.errors import ConfigError


def now(env: Mapping[str, str]) -> datetime:
    """Return the current instant (UTC, aware), honouring `LINKCLI_NOW` (read as UTC when
    it carries no offset)."""
    raw = env.get("LINKCLI_NOW", "").strip()
    if not raw:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(f"LINKCLI_NOW={raw!r} is not an ISO 8601 instant ({exc})") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # an instant written without an offset is UTC
    return value.astimezone(UTC)
