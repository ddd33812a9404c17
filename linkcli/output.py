"""The only renderer: rich tables for people, sorted JSON for machines, one error line.

Rich is told whether it writes to a terminal, so cron mail never gets colour codes.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table


def console(stderr: bool = False) -> Console:
    """A console that adds no colour or markup when not on a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    return Console(file=stream, highlight=False, soft_wrap=True, no_color=not tty,
                   force_terminal=tty if tty else None, width=None if tty else 120)


def print_json(data: Any) -> None:
    """One JSON document on stdout, keys sorted."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def error_line(message: str) -> None:
    """The one stderr line of a failed command."""
    sys.stderr.write(f"linkcli: error: {message}\n")


def warn_line(message: str) -> None:
    """A warning on stderr (a skipped record, a retried send)."""
    sys.stderr.write(f"linkcli: warning: {message}\n")


def info_line(message: str) -> None:
    """A -v line on stdout."""
    sys.stdout.write(message + "\n")


def _table(title: str, columns: list[str]) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column)
    return table


def show_status(report: dict[str, Any]) -> None:
    """The status screen a person reads at a glance."""
    out = console()
    last = report["last_sync"]
    if last["time"] is None:
        out.print("Last sync: never (run `linkcli sync`)")
    else:
        state = "ok" if last["ok"] else f"FAILED: {last['error']}"
        counts = ", ".join(f"{k} {v}" for k, v in sorted(last["counts"].items()) if v)
        out.print(f"Last sync: {last['time']} {state}" + (f" ({counts})" if counts else ""))
    sends = report["sends"]
    out.print("Sends: " + ", ".join(f"{k} {v}" for k, v in sends.items()))
    if report["upcoming"]:
        table = _table("Next sends", ["due", "step", "channel", "appointment", "participant",
                                      "note"])
        for item in report["upcoming"]:
            table.add_row(item["due"], item["step"], item["channel"], item["appointment"],
                          item["participant"], item["waiting"] or "")
        out.print(table)
    else:
        out.print("Next sends: none planned")
    if report["last_7_days"]:
        table = _table("Last 7 days", ["channel", "sent", "delivered", "failed", "skipped"])
        for channel, states in sorted(report["last_7_days"].items()):
            table.add_row(channel, *(str(states.get(s, 0)) for s in
                                     ("sent", "delivered", "failed", "skipped")))
        out.print(table)
    if report["attention"]:
        table = _table("Needs attention", ["appointment", "participant", "reason", "fix"])
        for item in report["attention"]:
            table.add_row(item["appointment"] or "-", item["participant"] or "-",
                          item["reason"], item["fix"])
        out.print(table)
    else:
        out.print("Needs attention: nothing")


def show_preview(items: list[dict[str, Any]]) -> None:
    """Planned messages, one block each."""
    out = console()
    if not items:
        out.print("Nothing planned in that period.")
        return
    table = _table("Planned messages", ["due", "step", "channel", "to", "segments", "message"])
    for item in items:
        seg = f"{item['segments']} {item['encoding']}" if item["channel"] == "sms" else ""
        text = item["body"] if item["channel"] == "sms" else f"{item['subject']}"
        if item["warnings"]:
            text += "\n! " + "\n! ".join(item["warnings"])
        table.add_row(item["due"], item["step"], item["channel"], item["recipient"] or "-",
                      seg, text)
    out.print(table)
