"""`[sms] max_per_second` is honoured exactly (time injected, nothing really waits)."""

from __future__ import annotations

from linkcli.pacing import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_sends_are_spaced_exactly_by_the_rate():
    clock = FakeTime()
    pacer = Pacer(4.0, clock.monotonic, clock.sleep)
    starts = []
    for _ in range(5):
        pacer.wait()
        starts.append(clock.now)
        clock.now += 0.05  # the provider call itself
    assert [round(b - a, 6) for a, b in zip(starts, starts[1:], strict=False)] == [0.25] * 4
    assert clock.slept == [0.2] * 4


def test_slow_calls_are_never_delayed_further():
    clock = FakeTime()
    pacer = Pacer(2.0, clock.monotonic, clock.sleep)
    for _ in range(3):
        pacer.wait()
        clock.now += 0.6
    assert clock.slept == []


def test_no_limit_never_waits():
    clock = FakeTime()
    pacer = Pacer(None, clock.monotonic, clock.sleep)
    for _ in range(3):
        pacer.wait()
    assert clock.slept == []
