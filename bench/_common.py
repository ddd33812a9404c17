"""Shared helpers for the linkcli benchmarks: timing fresh processes and reporting.

Every measurement runs a command as a fresh process, timed with `time.perf_counter`
and reaped with `os.wait4`, whose resource usage is that one process's: `ru_maxrss` is
its peak resident set, `ru_utime + ru_stime` its CPU time. A small launcher process does
the spawning (see `_LAUNCHER`) so that the bench's own memory never leaks into a figure.
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Frames that only wrap the command (interpreter, runpy, typer and click dispatch).
WRAPPERS = re.compile(
    r"builtins\.exec\}|<frozen runpy>|<string>:1\(|__main__\.py:|\bmain\.py:\d+\((__call__|"
    r"wrapper)\)|\bcore\.py:\d+\((__call__|main|_main|invoke)\)|cli\.py:\d+\(main\)"
)


@dataclass(frozen=True)
class Run:
    """One finished child process."""

    seconds: float
    cpu_seconds: float
    maxrss_kib: int
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Series:
    """Repeated runs of one command (warm-up excluded)."""

    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median wall time in seconds."""
        return statistics.median(r.seconds for r in self.runs)

    @property
    def cpu_median(self) -> float:
        """Median CPU time (user + system) in seconds: less sensitive to machine load."""
        return statistics.median(r.cpu_seconds for r in self.runs)

    @property
    def peak_rss_mib(self) -> float:
        """Largest peak RSS over the runs, in MiB."""
        return max(r.maxrss_kib for r in self.runs) / 1024

    @property
    def times(self) -> list[float]:
        """Every run's wall time, in order."""
        return [r.seconds for r in self.runs]


def _rss_kib(ru_maxrss: int) -> int:
    """ru_maxrss is KiB on Linux and bytes on macOS."""
    return ru_maxrss // 1024 if sys.platform == "darwin" else ru_maxrss


# A tiny launcher that starts the measured command and reports its resource usage.
# Linux counts a child's pre-exec image in its ru_maxrss, so a command forked straight
# from this (possibly large) bench process would inherit the bench's RSS as a floor; the
# launcher is a fresh, small interpreter, and it times the command without its own
# start-up.
_LAUNCHER = """
import json, os, sys, time
report, *cmd = sys.argv[1:]
start = time.perf_counter()
pid = os.posix_spawnp(cmd[0], cmd, os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(report, "w") as out:
    json.dump({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
               "maxrss": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status)}, out)
"""


def run_once(
    cmd: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Run:
    """Run `cmd` to completion; return wall and CPU time, its own peak RSS and its output."""
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        report = Path(tmp) / "usage.json"
        subprocess.run(
            [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(report), *cmd],
            stdout=out,
            stderr=err,
            env=dict(env or os.environ),
            cwd=cwd,
            check=False,
        )
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        if not report.exists():
            raise SystemExit(f"could not run {cmd[0]}: {stderr.strip()[-1000:]}")
        usage = json.loads(report.read_text(encoding="utf-8"))
        return Run(
            usage["seconds"], usage["cpu"], _rss_kib(usage["maxrss"]), usage["code"], stdout, stderr
        )


@dataclass
class Spec:
    """One command to measure: how to run it, prepare for it and check its result."""

    label: str
    cmd: Sequence[str]
    env: Mapping[str, str] | None = None
    prepare: Callable[[], None] | None = None
    check: Callable[[Run], None] | None = None


def measure_all(specs: Sequence[Spec], n: int, warmup: int = 1) -> list[Series]:
    """`warmup` untimed rounds, then `n` timed rounds; each round runs every spec once.

    Interleaving the commands (A B A B ... rather than A A ... B B ...) spreads any
    change in machine load evenly over the subject and its baseline. `prepare` runs
    untimed before each run; `check` validates each run's output.
    """
    series = [Series(spec.label) for spec in specs]
    for i in range(warmup + n):
        for spec, out in zip(specs, series, strict=True):
            if spec.prepare is not None:
                spec.prepare()
            run = run_once(spec.cmd, spec.env)
            if run.returncode != 0:
                raise SystemExit(
                    f"{spec.label}: exit {run.returncode}\n"
                    f"{(run.stdout + run.stderr).strip()[-2000:]}"
                )
            if spec.check is not None:
                spec.check(run)
            if i >= warmup:
                out.runs.append(run)
    return series


def load() -> str:
    """The 1/5/15-minute load averages, to judge how quiet the machine was."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average: unknown"
    return f"load average: {one:.2f} {five:.2f} {fifteen:.2f}"


def copy_db(src: Path, dst: Path) -> None:
    """Copy a SQLite database (and its WAL, if any) over `dst`, dropping dst's side files."""
    for suffix in ("", "-wal", "-shm", ".lock"):
        side = Path(f"{dst}{suffix}")
        if side.exists():
            side.unlink()
    shutil.copyfile(src, dst)
    wal = Path(f"{src}-wal")
    if wal.exists():
        shutil.copyfile(wal, Path(f"{dst}-wal"))


def remove_db(path: Path) -> None:
    """Delete a SQLite database and its side files."""
    for suffix in ("", "-wal", "-shm", ".lock"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            side.unlink()


def work_folder(given: Path | None, prefix: str) -> Path:
    """`given` (kept afterwards), else a temporary folder removed when the bench exits."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        return given
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def linkcli_exe(override: str | None = None) -> str:
    """The `linkcli` console script next to this interpreter (or `override`)."""
    if override:
        return override
    candidate = Path(sys.executable).parent / "linkcli"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("linkcli")
    if not found:
        raise SystemExit("cannot find the linkcli console script; pass --linkcli PATH")
    return found


def machine() -> str:
    """One line describing the machine and interpreter."""
    return (
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()} ({sys.executable})"
    )


def fmt_s(seconds: float) -> str:
    """Seconds, short."""
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def verdict(ok: bool) -> str:
    """PASS/FAIL label for a target."""
    return "PASS" if ok else "FAIL"


def print_series(series: Series) -> None:
    """One line per series: median wall and CPU time, peak RSS, every run's wall time."""
    runs = ", ".join(f"{t * 1000:.0f}" for t in series.times)
    print(
        f"  {series.label:<36} median {fmt_s(series.median):>9} (CPU "
        f"{fmt_s(series.cpu_median):>9})  peak RSS {series.peak_rss_mib:6.1f} MiB  "
        f"runs(ms): {runs}"
    )


def cprofile(
    args: Sequence[str],
    env: Mapping[str, str],
    lines: int = 15,
    skip: re.Pattern[str] | None = None,
    note: str = "",
) -> str:
    """`python -m cProfile -s cumtime -m linkcli ARGS`: its top `lines` rows, without the
    frames that only wrap the command (nor those matching `skip`)."""
    out = subprocess.run(
        [sys.executable, "-m", "cProfile", "-s", "cumtime", "-m", "linkcli", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    body = out.stdout.splitlines()
    head = next((i for i, line in enumerate(body) if "ncalls" in line), None)
    if head is None:
        return f"(no profile: exit {out.returncode}: {out.stderr.strip()[-500:]})"
    rows = [
        line
        for line in body[head + 1 :]
        if line.strip() and not WRAPPERS.search(line) and not (skip and skip.search(line))
    ]
    total = next((line.strip() for line in body[:head] if "function calls" in line), "")
    return "\n".join(
        [
            f"  ({total}; top {lines} by cumtime, runpy/typer/click wrappers left out{note})",
            body[head],
            *rows[:lines],
        ]
    )
