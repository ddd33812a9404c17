"""The only place linkcli reads the wall clock.

`LINKCLI_NOW` (an ISO 8601 instant) replaces the real time for simulation, replay and
tests. Everything downstream receives the instant as a value and computes in UTC.

What counts as "the clock" here is the calendar time (`datetime.now`, `time.time`,
`date.today`): it decides what is due, so it must be one value per run and replaceable.
A monotonic counter (`time.monotonic` in lock.py's wait and pacing.py's send rate)
measures only how long something took, is never compared with a session time, and stays
where it is used; `tests/test_architecture.py` enforces both rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from linkcli.errors import UsageError

# Every computation adds at most a few years (sync window, retention) to the instant;
# outside these years that arithmetic would overflow into an "internal error".
_FIRST_YEAR, _LAST_YEAR = 1971, 9000


def now(env: Mapping[str, str]) -> datetime:
    """Return the current instant (UTC, aware), honouring `LINKCLI_NOW` (read as UTC when
    it carries no offset). A value that is not an instant, or too far out to compute
    with, is a usage error (exit 2)."""
    raw = env.get("LINKCLI_NOW", "").strip()
    if not raw:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # an instant written without an offset is UTC
        value = value.astimezone(UTC)
    except ValueError as exc:
        raise UsageError(f"LINKCLI_NOW={raw!r} is not an ISO 8601 instant ({exc})") from None
    except OverflowError:
        value = None
    if value is None or not _FIRST_YEAR <= value.year <= _LAST_YEAR:
        raise UsageError(
            f"LINKCLI_NOW={raw!r} is out of range: use an instant between the years "
            f"{_FIRST_YEAR} and {_LAST_YEAR}"
        )
    return value
