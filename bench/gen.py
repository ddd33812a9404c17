"""Generate synthetic appointments in linkcli's canonical JSON format (DESIGN.md).

Deterministic for a given seed: example.org addresses, +1 617 555 01xx mobiles cycling,
Zoom links, 3-10 therapists, session starts spread over the 30 days after a fixed
anchor on 5-minute boundaries, some group sessions. `changed_variant` moves the start or
replaces the link of 1% of them, as a schedule edited between two syncs would.

    python bench/gen.py -n 10000 --out /tmp/linkcli-bench
    # -> appointments-10000.json and appointments-10000-changed.json
"""

from __future__ import annotations

import argparse
import copy
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ANCHOR = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # a Monday, 08:00 in New York
PRACTICE_ZONE = ZoneInfo("America/New_York")
FIRST = (
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Rowan",
    "Drew",
    "Emerson",
    "Harper",
    "Kai",
    "Logan",
    "Noa",
    "Parker",
)
LAST = (
    "Rivera",
    "Nguyen",
    "Smith",
    "Okafor",
    "Kowalski",
    "Haddad",
    "Larsen",
    "Moreau",
    "Tanaka",
    "Silva",
    "Brennan",
    "Fischer",
    "Ahmed",
    "Costa",
    "Novak",
    "Reyes",
)
THERAPISTS = (
    ("Maya", "Chen"),
    ("Daniel", "Ortiz"),
    ("Priya", "Raman"),
    ("Lena", "Vogel"),
    ("Marcus", "Hill"),
    ("Sofia", "Marin"),
    ("Owen", "Price"),
    ("Hana", "Sato"),
    ("Elif", "Demir"),
    ("Tom", "Walsh"),
)
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
SLOT = timedelta(minutes=5)


def _local(moment: datetime) -> str:
    """An instant written in the practice's zone, with its offset."""
    return moment.astimezone(PRACTICE_ZONE).isoformat()


def _zoom_link(rng: random.Random) -> str:
    meeting = rng.randrange(10**10, 10**11)
    pwd = "".join(
        rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") for _ in range(10)
    )
    return f"https://us02web.zoom.us/j/{meeting}?pwd={pwd}"


def make_appointments(
    n: int,
    seed: int = 1,
    anchor: datetime = ANCHOR,
    days: int = 30,
    first_minute: int = 60,
    last_minute: int | None = None,
    therapists: int | None = None,
    group_share: float = 0.08,
    in_person_share: float = 0.02,
    with_email: bool = True,
) -> list[dict[str, Any]]:
    """`n` canonical appointment records.

    Starts fall on 5-minute boundaries in [anchor + first_minute, anchor + last_minute]
    (default: up to `days` days after the anchor, less an hour). `group_share` of them
    have 2-4 participants; `in_person_share` are in-person (linkcli sends nothing).
    """
    rng = random.Random(seed)
    last = last_minute if last_minute is not None else days * 24 * 60 - 60
    first_slot, last_slot = -(-first_minute // 5), last // 5
    if last_slot < first_slot:
        raise ValueError("empty start range")
    count = therapists if therapists is not None else rng.randint(3, 10)
    staff = [
        {"id": f"th-{i + 1}", "name": f"{fn} {ln}", "display_name": f"Dr. {ln}"}
        for i, (fn, ln) in enumerate(THERAPISTS[:count])
    ]
    records: list[dict[str, Any]] = []
    client = 0
    for i in range(n):
        start = anchor + SLOT * rng.randint(first_slot, last_slot)
        size = rng.randint(2, 4) if rng.random() < group_share else 1
        participants = []
        for _ in range(size):
            client += 1
            fn, ln = rng.choice(FIRST), rng.choice(LAST)
            participants.append(
                {
                    "id": f"cl-{client}",
                    "name": f"{fn} {ln}",
                    "first_name": fn,
                    "email": f"{fn}.{ln}.{client}@example.org".lower() if with_email else None,
                    "mobile": f"+1 617 555 01{client % 100:02d}",
                    "sms_opt_in": True,
                    "email_opt_in": True,
                    "timezone": rng.choice(ZONES),
                }
            )
        records.append(
            {
                "id": f"apt-{i + 1:06d}",
                "status": "scheduled",
                "start": _local(start),
                "end": _local(start + timedelta(minutes=50)),
                "format": "in_person" if rng.random() < in_person_share else "telehealth",
                "telehealth_url": _zoom_link(rng),
                "therapist": rng.choice(staff),
                "participants": participants,
                "updated_at": (anchor - timedelta(days=rng.randint(1, 20)))
                .isoformat()
                .replace("+00:00", "Z"),
            }
        )
    return records


def changed_variant(
    records: list[dict[str, Any]],
    share: float = 0.01,
    seed: int = 2,
    anchor: datetime = ANCHOR,
) -> list[dict[str, Any]]:
    """A copy where `share` of the records changed: half moved by an hour (staying inside
    the 30-day window), half with a new Zoom link. `updated_at` is bumped on each."""
    rng = random.Random(seed)
    out = copy.deepcopy(records)
    picked = rng.sample(range(len(out)), max(1, round(len(out) * share)) if out else 0)
    for k, index in enumerate(sorted(picked)):
        record = out[index]
        if k % 2 == 0:
            start = datetime.fromisoformat(record["start"])
            shift = (
                timedelta(hours=1)
                if start.astimezone(UTC) < anchor + timedelta(days=29)
                else timedelta(hours=-1)
            )
            record["start"] = (start + shift).astimezone(PRACTICE_ZONE).isoformat()
            end = datetime.fromisoformat(record["end"])
            record["end"] = (end + shift).astimezone(PRACTICE_ZONE).isoformat()
        else:
            record["telehealth_url"] = _zoom_link(rng)
        record["updated_at"] = anchor.isoformat().replace("+00:00", "Z")
    return out


def write(records: list[dict[str, Any]], path: Path) -> Path:
    """Write a listing as a JSON list."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def ensure_pair(n: int, out: Path, seed: int = 1) -> tuple[Path, Path]:
    """appointments-N.json and its 1%-changed variant under `out` (reused if present)."""
    base = out / f"appointments-{n}.json"
    changed = out / f"appointments-{n}-changed.json"
    if not (base.exists() and changed.exists()):
        records = make_appointments(n, seed=seed)
        write(records, base)
        write(changed_variant(records, seed=seed + 1), changed)
    return base, changed


def main() -> None:
    """CLI: write the listing and its changed variant."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="how many appointments")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("bench-data"), help="output folder")
    args = parser.parse_args()
    records = make_appointments(args.n, seed=args.seed)
    base = write(records, args.out / f"appointments-{args.n}.json")
    changed = write(
        changed_variant(records, seed=args.seed + 1),
        args.out / f"appointments-{args.n}-changed.json",
    )
    participants = sum(len(r["participants"]) for r in records)
    therapists = len({r["therapist"]["id"] for r in records})
    print(
        f"{base} ({args.n} appointments, {participants} participants, "
        f"{therapists} therapists)\n{changed} (1% changed)"
    )


if __name__ == "__main__":
    main()
