"""`core/reconcile.py` on its own: a diff in, the writes of one sync out. Each row of a
table is one change and what the plan must hold. Synthetic people and links only."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from linkcli.core.diff import Change, Diff
from linkcli.core.model import Appointment, Participant, Therapist
from linkcli.core.plan import Step
from linkcli.core.reconcile import (
    CANCELLATION,
    LINK_CHANGED,
    PendingSend,
    SentMessage,
    reconcile,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
START = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
STEPS = (
    Step("confirmation", ("email",)),
    Step("reminder-24h", ("sms", "email"), timedelta(hours=24)),
    Step("final-30m", ("sms",), timedelta(minutes=30)),
)
ALEX = Participant(id="cl-1", name="Alex Rivera", email="alex@example.org", mobile="+16175550101")
SAM = Participant(id="cl-2", name="Sam Lee", email="sam@example.org", mobile="+16175550102")
LINK_A = "https://us02web.zoom.us/j/85512345678"
LINK_B = "https://us02web.zoom.us/j/85599999999"
SESSION = Appointment(
    id="apt-1",
    status="scheduled",
    start=START,
    therapist=Therapist(id="th-1", name="Maya Chen"),
    participants=(ALEX,),
    telehealth_url=LINK_A,
)
MOVED = replace(SESSION, start=START + timedelta(days=1))
CANCELED = replace(SESSION, status="canceled")
NEW_LINK = replace(SESSION, telehealth_url=LINK_B)
GROUP = replace(SESSION, participants=(ALEX, SAM))
IN_PERSON = replace(SESSION, format="in_person")


def pending(*keys: str) -> list[PendingSend]:
    out = []
    for key in keys:
        pid, step, channel = key.split("/")
        out.append(PendingSend(f"apt-1/{key}/r1", "apt-1", pid, step, channel))
    return out


SENT_24H = {"apt-1": {SentMessage("cl-1", "reminder-24h", "sms")}}
ALL_PENDING = pending("cl-1/reminder-24h/sms", "cl-1/reminder-24h/email", "cl-1/final-30m/sms")


def plan_for(change: Change, revision: int = 1, adopting: bool = False, **kwargs):
    defaults = {"pending": [], "sent": {}}
    defaults.update(kwargs)
    return reconcile(
        Diff(changes=(change,)),
        revisions={"apt-1": revision} if change.kind != "created" else {},
        steps=STEPS,
        now=NOW,
        adopting=adopting,
        **defaults,
    )


def planned(plan) -> list[str]:
    return sorted(send.key for send in plan.inserts)


CASES = [
    # (name, change, kwargs, inserts, canceled keys, notices). An update plans the whole
    # sequence again: the store's unique send key drops what is already there.
    (
        "a new session gets its whole sequence",
        Change("created", "apt-1", None, SESSION),
        {},
        [
            "apt-1/cl-1/confirmation/email/r1",
            "apt-1/cl-1/final-30m/sms/r1",
            "apt-1/cl-1/reminder-24h/email/r1",
            "apt-1/cl-1/reminder-24h/sms/r1",
        ],
        [],
        [],
    ),
    (
        "adopted at the first sync: no booking confirmation",
        Change("created", "apt-1", None, SESSION),
        {"adopting": True},
        [
            "apt-1/cl-1/final-30m/sms/r1",
            "apt-1/cl-1/reminder-24h/email/r1",
            "apt-1/cl-1/reminder-24h/sms/r1",
        ],
        [],
        [],
    ),
    (
        "an in-person session gets nothing",
        Change("created", "apt-1", None, IN_PERSON),
        {},
        [],
        [],
        [],
    ),
    (
        "a move withdraws what was pending and plans the new revision",
        Change("rescheduled", "apt-1", SESSION, MOVED),
        {"pending": ALL_PENDING},
        [
            "apt-1/cl-1/confirmation/email/r2",
            "apt-1/cl-1/final-30m/sms/r2",
            "apt-1/cl-1/reminder-24h/email/r2",
            "apt-1/cl-1/reminder-24h/sms/r2",
        ],
        [send.key for send in ALL_PENDING],
        [],
    ),
    (
        "a move after the reminder went is told to a human",
        Change("rescheduled", "apt-1", SESSION, MOVED),
        {"sent": SENT_24H},
        [
            "apt-1/cl-1/confirmation/email/r2",
            "apt-1/cl-1/final-30m/sms/r2",
            "apt-1/cl-1/reminder-24h/email/r2",
            "apt-1/cl-1/reminder-24h/sms/r2",
        ],
        [],
        ["moved_after_reminder"],
    ),
    (
        "a cancellation withdraws everything and emails whoever was told",
        Change("canceled", "apt-1", SESSION, CANCELED, "status canceled"),
        {"pending": ALL_PENDING, "sent": SENT_24H},
        ["apt-1/cl-1/cancellation/email/r1"],
        [send.key for send in ALL_PENDING],
        [],
    ),
    (
        "a cancellation before anything went sends nothing",
        Change("canceled", "apt-1", SESSION, CANCELED, "status canceled"),
        {"pending": ALL_PENDING},
        [],
        [send.key for send in ALL_PENDING],
        [],
    ),
    (
        "cancellation emails turned off",
        Change("canceled", "apt-1", SESSION, CANCELED, "status canceled"),
        {"sent": SENT_24H, "cancellation": False},
        [],
        [],
        [],
    ),
    (
        "a new link is told on the channel the client was reached on",
        Change("updated", "apt-1", SESSION, NEW_LINK, "link"),
        {"sent": SENT_24H},
        [
            "apt-1/cl-1/final-30m/sms/r1",
            "apt-1/cl-1/link-changed/sms/r1-",
            "apt-1/cl-1/reminder-24h/email/r1",
            "apt-1/cl-1/reminder-24h/sms/r1",
        ],
        [],
        [],
    ),
    (
        "link-changed messages turned off",
        Change("updated", "apt-1", SESSION, NEW_LINK, "link"),
        {"sent": SENT_24H, "link_changed": False},
        [
            "apt-1/cl-1/final-30m/sms/r1",
            "apt-1/cl-1/reminder-24h/email/r1",
            "apt-1/cl-1/reminder-24h/sms/r1",
        ],
        [],
        [],
    ),
    (
        "a client added to a group gets a confirmation; the others are not re-planned anew",
        Change("updated", "apt-1", SESSION, GROUP, "participants"),
        {},
        [
            "apt-1/cl-1/final-30m/sms/r1",
            "apt-1/cl-1/reminder-24h/email/r1",
            "apt-1/cl-1/reminder-24h/sms/r1",
            "apt-1/cl-2/confirmation/email/r1",
            "apt-1/cl-2/final-30m/sms/r1",
            "apt-1/cl-2/reminder-24h/email/r1",
            "apt-1/cl-2/reminder-24h/sms/r1",
        ],
        [],
        [],
    ),
    (
        "a client removed from a group loses their pending sends",
        Change("updated", "apt-1", GROUP, SESSION, "participants"),
        {"pending": pending("cl-2/final-30m/sms")},
        [
            "apt-1/cl-1/final-30m/sms/r1",
            "apt-1/cl-1/reminder-24h/email/r1",
            "apt-1/cl-1/reminder-24h/sms/r1",
        ],
        ["apt-1/cl-2/final-30m/sms/r1"],
        [],
    ),
    (
        "a session that became in person withdraws its pending sends",
        Change("updated", "apt-1", SESSION, IN_PERSON, "format"),
        {"pending": ALL_PENDING},
        [],
        [send.key for send in ALL_PENDING],
        [],
    ),
]


@pytest.mark.parametrize(
    ("change", "kwargs", "inserts", "canceled", "notices"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_reconcile(change, kwargs, inserts, canceled, notices):
    plan = plan_for(change, **kwargs)
    # A link-changed key carries the link's hash and the moment: compare up to them.
    keys = [k[: k.index("/r1-") + 4] if LINK_CHANGED in k else k for k in planned(plan)]
    assert keys == inserts
    assert sorted(plan.cancel_keys) == sorted(canceled)
    assert [n.kind for n in plan.notices] == notices
    assert [w.appointment.id for w in plan.writes] == ["apt-1"]


def test_a_move_withdraws_with_the_reason_it_happened():
    plan = plan_for(Change("rescheduled", "apt-1", SESSION, MOVED), pending=ALL_PENDING)
    assert set(plan.cancel_reasons.values()) == {"rescheduled"}
    assert {w.revision for w in plan.writes} == {2}


def test_the_same_link_change_back_and_forth_gets_a_new_key_each_time():
    first = plan_for(Change("updated", "apt-1", SESSION, NEW_LINK, "link"), sent=SENT_24H)
    back = reconcile(
        Diff(changes=(Change("updated", "apt-1", NEW_LINK, SESSION, "link"),)),
        revisions={"apt-1": 1},
        pending=[],
        sent=SENT_24H,
        steps=STEPS,
        now=NOW + timedelta(hours=1),
        adopting=False,
    )
    told = [s for s in first.inserts + back.inserts if s.step == LINK_CHANGED]
    assert len({s.key for s in told}) == 2
    assert [(s.due_at, s.expires_at) for s in told] == [
        (NOW, START),
        (NOW + timedelta(hours=1), START),
    ]


def test_follow_ups_are_due_at_once_and_sendable_until_the_start():
    plan = plan_for(
        Change("canceled", "apt-1", SESSION, CANCELED, "status canceled"), sent=SENT_24H
    )
    [send] = plan.inserts
    assert (send.step, send.due_at, send.expires_at) == (CANCELLATION, NOW, START)


def test_channels_a_client_cannot_receive_are_never_planned():
    no_texts = lambda _participant, channel: channel == "email"  # noqa: E731
    plan = plan_for(Change("created", "apt-1", None, SESSION), reachable=no_texts)
    assert {send.channel for send in plan.inserts} == {"email"}


def test_a_session_already_started_plans_nothing_but_is_still_written():
    started = replace(SESSION, start=NOW - timedelta(minutes=5))
    plan = plan_for(Change("created", "apt-1", None, started))
    assert plan.inserts == [] and [w.appointment.id for w in plan.writes] == ["apt-1"]
