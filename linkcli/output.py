"""The only renderer: rich tables for people, sorted JSON for machines, one error line.

Rich is told whether it writes to a terminal, so cron mail never gets colour codes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from linkcli.core.text import plain

if TYPE_CHECKING:  # rich loads when something is shown: a quiet cron tick shows nothing
    from rich.console import Console
    from rich.table import Table


def console(stderr: bool = False) -> Console:
    """A console that adds no colour or markup when not on a terminal."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    # markup=False: "[links] allowed_hosts" in a fix text is text, not a style tag.
    return Console(
        file=stream,
        highlight=False,
        markup=False,
        soft_wrap=True,
        no_color=not tty,
        force_terminal=tty if tty else None,
        width=None if tty else 120,
    )


Step = Callable[[str], None]


@contextmanager
def progress(phases: int) -> Iterator[Step]:
    """A progress bar over a command's phases on a terminal; under cron (no terminal) a
    callback that does nothing, so cron mail never holds bars or control codes."""
    if not sys.stderr.isatty():
        yield lambda _label: None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=phases)
        started = False

        def step(label: str) -> None:
            nonlocal started
            bar.update(task, description=label, advance=1 if started else 0)
            started = True

        yield step


def print_json(data: Any) -> None:
    """One JSON document on stdout, keys sorted."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def error_line(message: str) -> None:
    """The one stderr line of a failed command."""
    sys.stderr.write(f"linkcli: error: {plain(message)}\n")


def warn_line(message: str) -> None:
    """A warning on stderr (a skipped record, a retried send)."""
    sys.stderr.write(f"linkcli: warning: {plain(message)}\n")


def _plain_data(data: Any) -> Any:
    """`data` with every string made one printable line (core/text.py): what a human
    screen shows of names, ids and reasons from the schedule never drives the
    terminal. JSON output needs no such pass (json escapes control characters)."""
    if isinstance(data, str):
        return plain(data)
    if isinstance(data, dict):
        return {k: _plain_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain_data(v) for v in data]
    return data


def info_line(message: str) -> None:
    """A -v line on stdout."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()  # a long-lived `run --watch` under systemd shows each line at once


def _table(title: str, columns: list[str]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column)
    return table


def show_status(report: dict[str, Any]) -> None:
    """The status screen a person reads at a glance."""
    report = _plain_data(report)
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
        table = _table(
            "Next sends", ["due", "step", "channel", "appointment", "participant", "note"]
        )
        for item in report["upcoming"]:
            table.add_row(
                item["due"],
                item["step"],
                item["channel"],
                item["appointment"],
                item["participant"],
                item["waiting"] or "",
            )
        out.print(table)
    else:
        out.print("Next sends: none planned")
    if report["last_7_days"]:
        table = _table(
            "Last 7 days", ["channel", "sent", "delivered", "failed", "skipped", "delivery rate"]
        )
        for channel, states in sorted(report["last_7_days"].items()):
            rate = states.get("delivery_rate")
            table.add_row(
                channel,
                *(str(states.get(s, 0)) for s in ("sent", "delivered", "failed", "skipped")),
                f"{rate:.0%}" if rate is not None else "-",
            )
        out.print(table)
    if report.get("therapists"):
        table = _table(
            "By therapist (7 days)",
            ["therapist", "sent", "delivered", "failed", "skipped", "canceled"],
        )
        for therapist, states in sorted(report["therapists"].items()):
            table.add_row(
                therapist,
                *(
                    str(states.get(s, 0))
                    for s in ("sent", "delivered", "failed", "skipped", "canceled")
                ),
            )
        out.print(table)
    if report["attention"]:
        table = _table("Needs attention", ["appointment", "participant", "reason", "fix"])
        for item in report["attention"]:
            table.add_row(
                item["appointment"] or "-", item["participant"] or "-", item["reason"], item["fix"]
            )
        out.print(table)
    else:
        out.print("Needs attention: nothing")


def show_preview(items: list[dict[str, Any]]) -> None:
    """Planned messages, one block each."""
    items = _plain_data(items)
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
        table.add_row(
            item["due"], item["step"], item["channel"], item["recipient"] or "-", seg, text
        )
    out.print(table)


# --- init, doctor, demo, explain ----------------------------------------------------
# Their texts carry config keys such as "[links] allowed_hosts" and regular expressions,
# which rich would take for markup and silently drop: everything below prints with
# markup off, and table cells go in as Text.


def _say(out: Console, text: str = "", style: str | None = None) -> None:
    from rich.text import Text

    out.print(Text(text, style=style or ""), markup=False)


def show_init(result: Any) -> None:
    """What `init` wrote and what is left to do: secrets, files, checks, crontab."""
    out = console()
    _say(out, f"Wrote {result.path} (owner-only, 0600).", "bold")
    if result.secrets:
        _say(out)
        _say(
            out,
            "Set these in the environment cron runs with (secrets are read from the "
            "environment only; cron does not read your shell profile, so put NAME=value lines "
            "at the top of the crontab or in a file only you can read):",
        )
        for name, purpose, required in result.secrets:
            _say(
                out,
                f"  {name:<24} {purpose}"
                + ("" if required else " (optional: a relay may need no login)"),
            )
    _say(out)
    _say(out, "Next:")
    for item in result.todo:
        _say(out, f"  - {item}")
    _say(out)
    _say(out, "Crontab (crontab -e; use the full path of linkcli if cron's PATH lacks it):")
    for line in result.cron:
        _say(out, f"  {line}")
    _say(out, "or, as one line:")
    _say(out, f"  {result.cron_single}")


_MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}
_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red"}


def show_doctor(report: dict[str, Any]) -> None:
    """The doctor's checks: a table on a terminal, plain lines for cron mail and pipes."""
    out = console()
    checks = report["checks"]
    counts = report["counts"]
    summary = (
        f"{len(checks)} checks: {counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail"
    )
    if out.is_terminal:
        from rich.table import Table
        from rich.text import Text

        table = Table(
            title=Text(f"linkcli doctor: {report['config']}"), title_justify="left", show_lines=True
        )
        for column in ("", "check", "result", "fix"):
            table.add_column(column, overflow="fold")  # long paths and URLs wrap, never "…"
        for c in checks:
            table.add_row(
                Text(_MARK[c["status"]], style=_STYLE[c["status"]]),
                Text(c["name"]),
                Text(c["detail"]),
                Text(c["fix"] if c["status"] != "pass" else ""),
            )
        out.print(table)
        _say(out, summary)
        return
    _say(out, f"linkcli doctor: {report['config']}")
    for c in checks:
        _say(out, f"{_MARK[c['status']]}  {c['name']:<20} {c['detail']}")
        if c["status"] != "pass" and c["fix"]:
            _say(out, f"{'':6}{'fix:':<20} {c['fix']}")
    _say(out, summary)


def show_demo(result: Any) -> None:
    """The demo week as a timeline (practice time), then the status screen it ends with."""
    out = console()
    _say(
        out,
        f"linkcli demo: {result.practice} (a synthetic practice), times in {result.timezone}",
        "bold",
    )
    _say(
        out,
        f"Cron every 15 min from {result.start[:16].replace('T', ' ')} to "
        f"{result.end[:16].replace('T', ' ')}: the {result.runs} of {result.ticks} ticks with "
        "work each ran the real sync and dispatch (file source, outbox channels); quiet ticks "
        "were skipped. Nothing left this machine.",
    )
    day = None
    for e in result.timeline:
        if e["day"] != day:
            day = e["day"]
            _say(out)
            _say(out, day, "bold")
        head = f"  {e['clock']}  "
        if e["kind"] == "sync":
            _say(out, f"{head}sync    {e['text']}")
        elif e["kind"] == "change":
            _say(out, f"{head}change  {e['appointment']}: {e['text']} ({e['reason']})", "cyan")
        else:
            who = f"{e['step']:<13} {e['appointment']} {e['participant']:<9}"
            if e["kind"] == "message":
                _say(out, f"{head}{e['channel']:<6}  {who} {e['to']}")
                text = e["text"] if e["channel"] == "sms" else f"Subject: {e['text']}"
                _say(out, f"{'':9}{text}", "dim")
            else:
                _say(out, f"{head}{e['channel']:<6}  {who} {e['kind']}: {e['reason']}", "yellow")
    _say(out)
    _say(
        out,
        f"Status at the end of the week ({result.end[:16].replace('T', ' ')}, `linkcli status`):",
        "bold",
    )
    show_status(result.status)
    if result.kept:
        _say(out)
        _say(
            out,
            f"Kept in {result.kept}: config.toml, appointments.json, linkcli.db and the "
            "outbox files. Explore as of the demo's end, e.g.:",
        )
        env = f"LINKCLI_NOW={result.end} LINKCLI_CONFIG={result.kept / 'config.toml'}"
        for command in ("status", "preview --days 3", "explain apt-105", "doctor"):
            _say(out, f"  {env} linkcli {command}")


def show_explain(data: dict[str, Any]) -> None:
    """One appointment's whole sequence, per participant, with the reason for each step."""
    data = _plain_data(data)
    out = console()
    a = data["appointment"]
    _say(
        out,
        f"{a['id']}: {a['status']} {a['format'].replace('_', '-')} session, "
        f"{a['start_local']} ({a['timezone']}), {a['therapist']['shown']} "
        f"({a['therapist']['id']})",
        "bold",
    )
    if a["link_problem"]:
        _say(out, f"link: {a['link'] or '-'}  REFUSED: {a['link_problem']}", "red")
    else:
        _say(out, f"link: {a['link'] or '-'}")
    origin = "adopted at the first sync" if a["adopted_at_first_sync"] else "first seen"
    _say(
        out,
        f"version {a['revision']}; {origin} {a['first_seen_local']}; last changed "
        f"{a['changed_at_local']}; explained as of {data['now_local']}",
    )
    snap = data["snapshot"]
    if snap["stale"]:
        _say(
            out,
            f"snapshot is stale (last good sync {snap['last_good_sync'] or 'never'}): "
            "link messages wait",
            "yellow",
        )
    for n in data["notices"]:
        _say(out, f"! {n['reason']}; {n['fix']}", "yellow")
    for p in data["participants"]:
        _say(out)
        name = f" ({p['name']})" if p["name"] else ""
        removed = "  [removed from the session]" if p["removed"] else ""
        _say(out, f"{p['id']}{name}, times in {p['timezone']}{removed}", "bold")
        for channel, c in p["contacts"].items():
            _say(
                out,
                f"  {channel}: {c['to'] or '-'}" + (f"  ({c['problem']})" if c["problem"] else ""),
            )
        for s in p["steps"]:
            due = s["due_local"] or "on booking"
            to = s["to"] or "-"
            version = f" (v{s['revision']})"
            _say(
                out,
                f"  {due:<24} {s['step']:<13} {s['channel']:<6} {to:<18} {s['state']}{version}",
                _STATE_STYLE.get(s["state"]),
            )
            _say(out, f"{'':6}why:  {s['reason']}")
            if s["body"] is not None:
                text = s["body"] if s["channel"] == "sms" else f"Subject: {s['subject']}"
                seg = (
                    f"  [{s['segments']} {s['encoding']} segment(s)]"
                    if s["channel"] == "sms" and s["segments"]
                    else ""
                )
                _say(out, f"{'':6}text: {text}{seg}", "dim")
            for h in s["history"]:
                _say(out, f"{'':6}v{h['revision']}:   {h['state']}, {h['reason']}", "dim")


_STATE_STYLE = {
    "sent": "green",
    "delivered": "green",
    "failed": "red",
    "pending": "cyan",
    "skipped": "yellow",
    "not planned": "yellow",
}
