"""Shared helpers for the linkcli benchmarks: timing fresh processes and reporting.

Every measurement runs a command as a fresh child process, timed with
`time.perf_counter`, and reaps it with `os.wait4`, whose resource usage is that one
child's (so `ru_maxrss` is the peak resident set of exactly that process).
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Run:
    """One finished child process."""

    seconds: float
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


def run_once(cmd: Sequence[str], env: Mapping[str, str] | None = None,
             cwd: Path | None = None) -> Run:
    """Run `cmd` to completion; return wall time, its own peak RSS and its output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=dict(env or os.environ),
                                cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(seconds, _rss_kib(usage.ru_maxrss), proc.returncode, out.read(), err.read())


def measure(
    label: str,
    cmd: Sequence[str],
    n: int,
    env: Mapping[str, str] | None = None,
    prepare: Callable[[], None] | None = None,
    check: Callable[[Run], None] | None = None,
    warmup: int = 1,
) -> Series:
    """`warmup` untimed runs, then `n` timed runs; `prepare` runs (untimed) before each."""
    series = Series(label)
    for i in range(warmup + n):
        if prepare is not None:
            prepare()
        run = run_once(cmd, env)
        if run.returncode != 0:
            raise SystemExit(
                f"{label}: exit {run.returncode}\n{run.stderr.strip()[-2000:]}"
            )
        if check is not None:
            check(run)
        if i >= warmup:
            series.runs.append(run)
    return series


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
    return (f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()} ({sys.executable})")


def fmt_s(seconds: float) -> str:
    """Seconds, short."""
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def verdict(ok: bool) -> str:
    """PASS/FAIL label for a target."""
    return "PASS" if ok else "FAIL"


def print_series(series: Series) -> None:
    """One line per series: median, every run, peak RSS."""
    runs = ", ".join(f"{t * 1000:.0f}" for t in series.times)
    print(f"  {series.label:<34} median {fmt_s(series.median):>9}   peak RSS "
          f"{series.peak_rss_mib:6.1f} MiB   runs(ms): {runs}")
