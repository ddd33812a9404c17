"""The only renderer: rich tables for people, sorted JSON for machines, one error line.

Rich is told whether it writes to a terminal, so cron mail never gets colour codes.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from linkcli.core.text import plain

if TYPE_CHECKING:  # rich loads when something is shown: a quiet cron tick shows nothing
    from rich.console import Console
    from rich.table import Table


# `--no-color` for this invocation only (set by the CLI's callback; NO_COLOR in the
# environment does the same for every run).
NO_COLOR: ContextVar[bool] = ContextVar("linkcli_no_color", default=False)
NARROW = 100  # below this many columns, tables become stacked lists


def colour_off(tty: bool) -> bool:
    """No colour off a terminal, with NO_COLOR set (any value), or with --no-color."""
    return not tty or "NO_COLOR" in os.environ or NO_COLOR.get()


def console(stderr: bool = False) -> Console:
    """A console that adds no colour or markup when not on a terminal."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    columns = os.environ.get("COLUMNS", "")
    # Off a terminal: COLUMNS when set (a script, a test), else a wide page for cron mail.
    width = None if tty else (int(columns) if columns.isdigit() and int(columns) > 20 else 120)
    # markup=False: "[links] allowed_hosts" in a fix text is text, not a style tag.
    return Console(
        file=stream,
        highlight=False,
        markup=False,
        soft_wrap=True,
        no_color=colour_off(tty),
        # No colour means no escape codes at all: bold and dim are escapes too.
        color_system=None if colour_off(tty) else "auto",
        force_terminal=tty if tty else None,
        width=width,
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
            # Drawn at once: a step that blocks on the network is named while it waits.
            bar.update(task, description=label, advance=1 if started else 0, refresh=True)
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
        # Wrapped, never cut: a time, a link or a message text is never shown with "…".
        table.add_column(column, overflow="fold")
    return table


def _rows(out: Console, title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A table on a wide screen; below NARROW columns a stacked list (one block a row,
    `column: value` lines), so nothing a person needs is squeezed or cut."""
    from rich.text import Text

    if out.width >= NARROW:
        table = _table(title, columns)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        out.print(table)
        return
    _say(out, title, "bold")
    label = max(len(c) for c in columns)
    for row in rows:
        first = True
        for column, cell in zip(columns, row, strict=True):
            if not cell:
                continue
            _say(out, f"{'-' if first else ' '} {column + ':':<{label + 1}} {cell}")
            first = False


def _zone(report: dict[str, Any]) -> tuple[Any, Any]:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return ZoneInfo(report.get("timezone") or "UTC"), datetime.fromisoformat(report["now"])


def show_status(report: dict[str, Any]) -> None:
    """The status screen a person reads at a glance (times in the practice's zone)."""
    from linkcli.core.when import people_iso

    report = _plain_data(report)
    out = console()
    zone, now = _zone(report)
    if report.get("test_mode"):
        _say(out, _sentence(report["test_mode"]), "bold yellow")
    last = report["last_sync"]
    if last["time"] is None:
        _say(out, "Last sync: never (run `linkcli sync`)")
    else:
        state = "ok" if last["ok"] else f"FAILED: {last['error']}"
        counts = ", ".join(f"{k} {v}" for k, v in sorted(last["counts"].items()) if v)
        when = people_iso(last["time"], zone, now)
        _say(out, f"Last sync: {when}, {state}" + (f" ({counts})" if counts else ""))
    sends = report["sends"]
    _say(out, "Sends: " + ", ".join(f"{k} {v}" for k, v in sends.items()))
    if report["upcoming"]:
        rows = [
            [
                people_iso(item["due"], zone, now) or "",
                item["step"],
                item["channel"],
                item.get("client") or item["participant"],
                item.get("therapist") or "",
                item["appointment"],
                item["waiting"] or "",
            ]
            for item in report["upcoming"]
        ]
        columns = ["due", "step", "channel", "client", "therapist", "appointment", "note"]
        _rows(out, f"Next sends (times in {zone.key})", columns, rows)
    else:
        _say(out, "Next sends: none planned")
    if report["last_7_days"]:
        rows = []
        for channel, states in sorted(report["last_7_days"].items()):
            rate = states.get("delivery_rate")
            rows.append(
                [
                    channel,
                    *(str(states.get(s, 0)) for s in ("sent", "delivered", "failed", "skipped")),
                    f"{rate:.0%}" if rate is not None else "-",
                ]
            )
        columns = ["channel", "sent", "delivered", "failed", "skipped", "delivery rate"]
        _rows(out, "Last 7 days", columns, rows)
    if report.get("therapists"):
        states_shown = ("sent", "delivered", "failed", "skipped", "canceled")
        rows = [
            [
                report.get("therapist_names", {}).get(therapist, therapist),
                *(str(states.get(s, 0)) for s in states_shown),
            ]
            for therapist, states in sorted(report["therapists"].items())
        ]
        _rows(out, "By therapist (7 days)", ["therapist", *states_shown], rows)
    if report.get("replies"):
        rows = [
            [
                item["time_local"],
                item["number"],
                item["appointment"] or "-",
                item["text"],
                "yes" if item["answered"] else "no",
            ]
            for item in report["replies"]
        ]
        _rows(
            out, "Replies (7 days)", ["received", "from", "appointment", "text", "answered"], rows
        )
    if report["attention"]:
        rows = [
            [item["appointment"] or "-", item["participant"] or "-", item["reason"], item["fix"]]
            for item in report["attention"]
        ]
        _rows(out, "Needs attention", ["appointment", "participant", "reason", "fix"], rows)
    else:
        _say(out, "Needs attention: nothing")


def show_preview(items: list[dict[str, Any]], notice: str | None = None) -> None:
    """Planned messages, one block each: when (the client's zone), what, for whom, and the
    full text as it will go (an email's subject and body), at any terminal width."""
    items = _plain_data(items)
    out = console()
    if notice:
        _say(out, _sentence(notice), "bold yellow")
    if not items:
        _say(out, "Nothing planned in that period.")
        return
    for n, item in enumerate(items):
        if n:
            _say(out)
        who = item.get("client") or item["participant"]
        by = f" with {item['therapist_shown']}" if item.get("therapist_shown") else ""
        to = f" to {item['recipient']}" if item["recipient"] else ""
        _say(
            out, f"{item.get('due_local') or item['due']}  {item['step']} {item['channel']}", "bold"
        )
        _say(out, f"  for {who}{to} (session {item['appointment']}{by})")
        if item["action"] != "send":
            _say(out, f"  {item['action']}", "yellow")
        if item["channel"] == "sms":
            _say(out, f"  {item['segments']} {item['encoding']} segment(s)")
            _say(out, _indent(item["body"] or ""))
        else:
            _say(out, f"  Subject: {item['subject'] or ''}")
            _say(out, _indent(item["body"] or ""))
        for warning in item["warnings"]:
            _say(out, f"  ! {warning}", "yellow")


def _indent(text: str) -> str:
    return "\n".join(f"  | {line}" if line else "  |" for line in text.splitlines())


# --- init, doctor, demo, explain ----------------------------------------------------
# Their texts carry config keys such as "[links] allowed_hosts" and regular expressions,
# which rich would take for markup and silently drop: everything below prints with
# markup off, and table cells go in as Text.


def _say(out: Console, text: str = "", style: str | None = None) -> None:
    from rich.text import Text

    out.print(Text(text, style=style or ""), markup=False)


def show_init(result: Any) -> None:
    """What `init` wrote and what is left to do: secrets, files, checks, crontab, unit."""
    out = console()
    _say(out, f"Wrote {result.path} (owner-only, 0600).", "bold")
    for made in result.written:
        _say(out, f"Created {made}.")
    if result.test_mode:
        _say(out)
        _say(out, _sentence(result.test_mode) + ".", "bold yellow")
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
    _say(out, "Crontab (crontab -e), full paths so cron's short PATH finds everything:")
    for line in result.cron:
        _say(out, f"  {line}")
    _say(out, "or, as one line:")
    _say(out, f"  {result.cron_single}")
    if result.unit_path is not None:
        _say(out, f"or, instead of cron, the systemd service written to {result.unit_path}")
        _say(out, "  (`run --watch`: it wakes at each due send; install steps are in the file).")


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
    if out.is_terminal and out.width >= NARROW:  # narrower: the stacked lines below
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
            f"snapshot is stale (last good sync {snap.get('last_good_sync_local') or 'never'}): "
            "link messages wait",
            "yellow",
        )
    for n in data["notices"]:
        _say(out, f"! {n['reason']}; {n['fix']}", "yellow")
    for r in data.get("replies", []):
        answered = "answered" if r["answered"] else f"NOT answered: {r['unanswered_because']}"
        _say(out, f'reply {r["time_local"]} from {r["number"]}: "{r["text"]}" ({answered})')
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


# --- report -----------------------------------------------------------------------------
# One plain-text rendering serves the terminal and the email's text part; the HTML page
# (`--html`, the email's HTML part) is self-contained: inline CSS and SVG, no script, no
# external resource, so it opens the same from a mail client or a file.

_STATE_ORDER = ("sent", "delivered", "failed", "skipped", "canceled", "pending", "sending")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _period_line(report: dict[str, Any]) -> str:
    days = report["per_day"]
    period = report["period"]
    span = f"{days[0]['day']} to {days[-1]['day']}" if days else "-"
    return f"{span} ({period['days']:g} days, {period['timezone']})"


def _report_lines(report: dict[str, Any]) -> list[str]:
    """The figures, as lines of plain text (total first, then each therapist)."""
    from linkcli.core.report import printable

    lines = [
        f"linkcli report: {printable(report['practice'])}, {_period_line(report)}",
        "",
        f"Sessions covered: {report['sessions']}",
        f"Messages: {report['messages_total']}",
    ]
    for step, channels in sorted(report["messages"].items()):
        for channel, states in sorted(channels.items()):
            counts = ", ".join(f"{s} {states[s]}" for s in _STATE_ORDER if states.get(s))
            lines.append(f"  {printable(step):<16} {channel:<6} {counts}")
    texts = report["link_texts"]
    lines += [
        f"Link texts sent within 2 min of due: {_pct(report['on_time'])} "
        f"({texts['on_time']} of {texts['sent']})",
        "Delivery rate: "
        + ", ".join(f"{c} {_pct(r)}" for c, r in sorted(report["delivery_rate"].items()))
        + " (- : no delivery receipts)",
        f"Replies received: {report['replies']}; link requests answered: "
        f"{report['link_requests_answered']}",
        f"Therapist minutes saved (estimate): {report['minutes_saved']} "
        f"({report['link_requests_answered']} link requests answered x "
        f"{report['minutes_per_link_request']} min each)",
        f"Messages given up: {report['given_up']}",
    ]
    lines += [f"  {n} x {reason}" for reason, n in report["given_up_reasons"].items()]
    wb = report["write_back"]
    if wb["written"] or wb["pending"]:
        lines.append(f"EHR records: {wb['written']} written, {wb['pending']} pending")
    if report["therapists"]:
        lines += ["", "By therapist:"]
    for tid, t in report["therapists"].items():
        lines.append(
            f"  {printable(t['name'])} ({printable(tid)}): sessions {t['sessions']}, messages "
            f"{t['messages_total']}, on time {_pct(t['on_time'])}, given up {t['given_up']}, "
            f"replies {t['replies']}, link requests answered {t['link_requests_answered']}, "
            f"minutes saved {t['minutes_saved']}"
        )
    return lines


def report_text(report: dict[str, Any]) -> str:
    """The report as plain text (the terminal, the email's text part)."""
    return "\n".join(_report_lines(report)) + "\n"


def show_report(report: dict[str, Any]) -> None:
    """The report on the terminal."""
    out = console()
    for line in _report_lines(report):
        _say(out, line)


_CHART_COLOURS = {"sms": "#2b6cb0", "email": "#dd8a2e"}


def _chart_svg(per_day: list[dict[str, Any]]) -> str:
    """Messages per day by channel as grouped bars, inline SVG."""
    from html import escape

    bar, gap, height, top, bottom = 14, 14, 160, 16, 34
    group = 2 * bar + gap
    width = max(group * len(per_day) + gap, 240)
    peak = max([d[c] for d in per_day for c in _CHART_COLOURS] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height + top + bottom}" role="img" aria-label="Messages per day by channel">'
    ]
    for i, day in enumerate(per_day):
        x = gap + i * group
        for j, (channel, colour) in enumerate(_CHART_COLOURS.items()):
            n = day[channel]
            h = round(height * n / peak)
            parts.append(
                f'<rect x="{x + j * bar}" y="{top + height - h}" width="{bar - 2}" '
                f'height="{h}" fill="{colour}"><title>{escape(day["day"])} {channel}: {n}'
                "</title></rect>"
            )
            if n:
                parts.append(
                    f'<text x="{x + j * bar + (bar - 2) / 2}" y="{top + height - h - 3}" '
                    f'font-size="9" text-anchor="middle">{n}</text>'
                )
        parts.append(
            f'<text x="{x + bar}" y="{top + height + 14}" font-size="10" '
            f'text-anchor="middle">{escape(day["day"][5:])}</text>'
        )
    parts.append(
        f'<line x1="0" y1="{top + height}" x2="{width}" y2="{top + height}" stroke="#888"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def report_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page: no script, no external resource."""
    from html import escape

    from linkcli.core.report import printable

    def cell(value: Any) -> str:
        return f"<td>{escape(str(value))}</td>"

    wb = report["write_back"]
    summary = [
        ("Sessions covered", report["sessions"]),
        ("Messages", report["messages_total"]),
        (
            "Link texts within 2 min of due",
            f"{_pct(report['on_time'])} ({report['link_texts']['on_time']} of "
            f"{report['link_texts']['sent']})",
        ),
        *(
            (f"Delivery rate, {c}", _pct(r) if r is not None else "- (no receipts)")
            for c, r in sorted(report["delivery_rate"].items())
        ),
        ("Replies received", report["replies"]),
        ("Link requests answered", report["link_requests_answered"]),
        (
            "Therapist minutes saved (estimate)",
            f"{report['minutes_saved']} ({report['link_requests_answered']} x "
            f"{report['minutes_per_link_request']} min)",
        ),
        ("Messages given up", report["given_up"]),
        ("EHR records written / pending", f"{wb['written']} / {wb['pending']}"),
    ]
    rows = "".join(f"<tr><th>{escape(k)}</th>{cell(v)}</tr>" for k, v in summary)
    messages = "".join(
        f"<tr>{cell(step)}{cell(channel)}"
        + "".join(cell(states.get(s, 0)) for s in _STATE_ORDER)
        + "</tr>"
        for step, channels in sorted(report["messages"].items())
        for channel, states in sorted(channels.items())
    )
    given_up = "".join(
        f"<li>{n} &times; {escape(reason)}</li>" for reason, n in report["given_up_reasons"].items()
    )
    therapists = "".join(
        f"<tr>{cell(printable(t['name']))}{cell(printable(tid))}{cell(t['sessions'])}"
        f"{cell(t['messages_total'])}{cell(_pct(t['on_time']))}{cell(t['given_up'])}"
        f"{cell(t['replies'])}{cell(t['link_requests_answered'])}{cell(t['minutes_saved'])}</tr>"
        for tid, t in report["therapists"].items()
    )
    legend = " ".join(
        f'<span class="key" style="background:{colour}"></span>{channel}'
        for channel, colour in _CHART_COLOURS.items()
    )
    head_states = "".join(f"<th>{s}</th>" for s in _STATE_ORDER)
    title = f"linkcli report: {printable(report['practice'])}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #1a202c; background: #fff; }}
h1 {{ font-size: 20px; }} h2 {{ font-size: 16px; margin-top: 24px; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #cbd5e0; padding: 4px 8px; }}
th {{ text-align: left; background: #edf2f7; }} td {{ text-align: right; }}
.key {{ display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; }}
</style></head>
<body>
<h1>{escape(title)}</h1>
<p id="period">{escape(_period_line(report))}</p>
<table id="summary">{rows}</table>
<h2>Messages sent per day</h2>
<p>{legend}</p>
{_chart_svg(report["per_day"])}
<h2>Messages by step, channel and state</h2>
<table id="messages"><tr><th>step</th><th>channel</th>{head_states}</tr>{messages}</table>
<h2>Given up</h2>
<ul id="given-up">{given_up or "<li>none</li>"}</ul>
<h2>By therapist</h2>
<table id="therapists"><tr><th>therapist</th><th>id</th><th>sessions</th><th>messages</th>
<th>on time</th><th>given up</th><th>replies</th><th>link requests answered</th>
<th>minutes saved</th></tr>{therapists}</table>
</body></html>
"""


def _sentence(text: str) -> str:
    """The first letter raised, the rest as written (key names keep their case)."""
    return text[:1].upper() + text[1:]
