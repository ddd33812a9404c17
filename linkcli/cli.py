"""The command line: typer wiring only. Each command builds the context, calls one
function, and hands the result to `output`. Errors become one stderr line and the
contract's exit code in `_guarded`, the only place that translates them."""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from linkcli import __version__, output
from linkcli.context import Context, Seams
from linkcli.core.suggest import did_you_mean
from linkcli.errors import ExitCode, LinkcliError

# The order a practice meets the commands in: try, set up, check, look, then cron's.
ORDER = (
    "demo",
    "init",
    "doctor",
    "preview",
    "status",
    "explain",
    "sync",
    "dispatch",
    "run",
    "report",
)


class _Commands(TyperGroup):
    """Commands listed in the order a practice meets them; a misspelt one gets a
    "did you mean"."""

    def list_commands(self, ctx: Any) -> list[str]:
        """Known commands in ORDER, any other after them."""
        names = list(self.commands)
        return sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """As Click does, with the nearest command named when there is no such one."""
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            hint = did_you_mean(args[0], self.commands)
            if hint and not ctx.resilient_parsing:
                ctx.fail(f"No such command {args[0]!r}{hint}")
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="linkcli",
    cls=_Commands,
    help="Deliver session-specific telehealth links to therapy clients, from cron.",
    epilog="Start here:  linkcli demo  ->  linkcli init  ->  linkcli doctor.  "
    "Then cron runs one line:  * * * * * linkcli run",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="PATH",
        help="Config file (default: $LINKCLI_CONFIG, else the platform config folder).",
        show_default=False,
    ),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Say what was done.")]
CountsOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON object with the counts, for machines.")
]
F = TypeVar("F", bound=Callable[..., Any])


def _guarded(func: F) -> F:
    """Turn every LinkcliError into one stderr line and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except LinkcliError as exc:
            output.error_line(exc.message)
            raise typer.Exit(int(exc.exit_code)) from None
        except sqlite3.OperationalError as exc:
            # Another program (a backup, an sqlite3 shell) holds the database: like a held
            # run lock, the next tick simply tries again. The transaction rolled back.
            busy = "locked" in str(exc) or "busy" in str(exc)
            output.error_line(
                f"the database is {'busy' if busy else 'unusable'} ({exc}); nothing was changed"
            )
            raise typer.Exit(int(ExitCode.LOCKED if busy else ExitCode.USAGE)) from None
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError):
                return _internal(exc, kwargs.get("verbose"))  # our SQL broke a rule: a bug
            # Damage found in the middle of a query (a corrupt page), not only at open:
            # the transaction rolled back, so the file is as it was.
            output.error_line(
                f"the database is damaged ({exc}); nothing was changed; restore it from a "
                "backup or move it aside and run `linkcli sync` to start a new one"
            )
            raise typer.Exit(int(ExitCode.USAGE)) from None
        except KeyboardInterrupt:
            output.error_line("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:  # a bug: still one line for cron, details with -v
            return _internal(exc, kwargs.get("verbose"))

    return wrapper  # type: ignore[return-value]


def _internal(exc: BaseException, verbose: object) -> None:
    """A bug: one line for cron mail (exit 5), the traceback only with -v."""
    output.error_line(f"internal error: {type(exc).__name__}: {exc}")
    if verbose:
        traceback.print_exception(exc)
    raise typer.Exit(int(ExitCode.INTERNAL)) from None


# The seams of the invocation being run: set by `_main` (which Click runs before every
# command) from the invocation's `obj`, so one invocation's never reach the next.
_SEAMS: ContextVar[Seams | None] = ContextVar("linkcli_seams", default=None)


def _ctx(config: Path | None, verbose: bool = False) -> Context:
    return Context.create(os.environ, config, verbose, _SEAMS.get())


def _version(value: bool) -> None:
    if value:
        typer.echo(f"linkcli {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    click_ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colour (as NO_COLOR=1 does).")
    ] = False,
) -> None:
    """Deliver session-specific telehealth links to therapy clients, from cron."""
    output.NO_COLOR.set(no_color)
    # The caller's seams (a test's HTTP client) for this invocation only; real otherwise.
    obj = click_ctx.obj
    _SEAMS.set(obj if isinstance(obj, Seams) else Seams())


@app.command(short_help="Read the schedule and plan the messages.")
@_guarded
def sync(
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Apply a listing in which most upcoming sessions vanished at once."
        ),
    ] = False,
    confirm_existing: Annotated[
        bool,
        typer.Option(
            "--confirm-existing",
            help="On the first sync, also send booking confirmations "
            "for sessions that already exist.",
        ),
    ] = False,
    json_: CountsOpt = False,
) -> None:
    """Read the schedule, diff it against the snapshot and plan the messages.

    Example: linkcli sync --config /etc/linkcli/config.toml
    """
    from linkcli.commands.sync import SYNC_PHASES, run_sync

    ctx = _ctx(config, verbose)
    with ctx.store() as store, output.progress(SYNC_PHASES) as step:
        result = run_sync(ctx, store, force=force, confirm_existing=confirm_existing, step=step)
    _report_sync(result, verbose)
    if json_:
        output.print_json(result.summary())
    _exit(result.exit_code)


def _exit(code: ExitCode) -> None:
    """Every command ends here with its result's exit code."""
    if code:
        raise typer.Exit(int(code))


def _one_line(lines: list[str], more: str) -> str:
    """Cron mail gets one line: the first item, and how many more `status` lists."""
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0]} (and {len(lines) - 1} more; {more})"


def _report_sync(result: Any, verbose: bool) -> None:
    if verbose:
        for problem in result.problems:
            output.warn_line(problem)
    elif result.problems:
        output.warn_line(_one_line(result.problems, "see `linkcli status`"))
    if verbose:
        counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
        note = (
            " (first sync: existing sessions adopted without confirmations)"
            if (result.adopted)
            else ""
        )
        output.info_line(f"sync: {counts}; {result.planned} message(s) planned{note}")


@app.command(short_help="Send every message that is due now.")
@_guarded
def dispatch(
    config: ConfigOpt = None, verbose: VerboseOpt = False, json_: CountsOpt = False
) -> None:
    """Send every message that is due now. Safe to run every minute.

    Example: linkcli dispatch
    """
    from linkcli.commands.dispatch import run_dispatch

    ctx = _ctx(config, verbose)
    with ctx.store() as store:
        result = run_dispatch(ctx, store)
    _report_dispatch(result, verbose)
    _say_test_mode(ctx, verbose)
    if json_:
        output.print_json(result.counts())
    _exit(result.exit_code)


def _say_test_mode(ctx: Context, verbose: bool) -> None:
    """With an outbox channel, a person (-v, or at a terminal) is told that nothing reaches
    clients and how to go live; cron, not at a terminal, stays silent."""
    from linkcli.shared import test_mode

    line = test_mode(ctx.config)
    if line and (verbose or sys.stderr.isatty()):
        output.warn_line(line)


def _report_dispatch(result: Any, verbose: bool) -> None:
    """At most one error line (failed or given up: exit 1) and one warning line (will be
    retried, said once per send; a stale snapshot) on stderr; counts with -v."""
    if verbose:
        for line in result.notes + result.retries + result.errors:
            output.warn_line(line)
        output.info_line("dispatch: " + ", ".join(f"{k} {v}" for k, v in result.counts().items()))
    if result.errors:
        more = "see `linkcli status`"
        output.error_line(f"{len(result.errors)} send(s) failed: {_one_line(result.errors, more)}")
    if result.retries:
        more = "see `linkcli status`"
        output.warn_line(
            f"{len(result.retries)} send(s) failed and will be retried: "
            f"{_one_line(result.retries, more)}"
        )
    if result.stale and result.waiting:
        output.warn_line(
            f"{result.waiting} message(s) wait: the last good sync is too old "
            "(see `linkcli status`)"
        )


@app.command(short_help="Sync, then dispatch: the one crontab line.")
@_guarded
def run(
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
    force: Annotated[bool, typer.Option("--force", help="As for sync.")] = False,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Stay running (for systemd): sync "
            "each interval and wake at each due send; stop on "
            "SIGTERM.",
        ),
    ] = False,
    json_: CountsOpt = False,
) -> None:
    """Sync (when the interval has passed), then dispatch: the one-line crontab.

    The dispatch goes ahead from the last good snapshot even when the sync fails; the
    exit code is then the sync's.

    Example: * * * * * linkcli run
    """
    from linkcli.runloop import run_once

    if watch:
        _watch(config, verbose)
        return
    ctx = _ctx(config, verbose)
    result = run_once(ctx, force=force)
    _report_run(result, verbose)
    _say_test_mode(ctx, verbose)
    if json_:
        output.print_json(result.counts())
    _exit(result.exit_code)


def _report_run(result: Any, verbose: bool) -> None:
    """One pass of the run loop, for a person: the sync's lines, the dispatch's, and
    the sync's failure last (its code is the run's)."""
    if result.lock_held is not None:
        output.warn_line(result.lock_held.message)
        return
    if result.sync is not None:
        _report_sync(result.sync, verbose)
    _report_dispatch(result.dispatch, verbose)
    if result.sync_error is not None:
        output.error_line(result.sync_error.message)


def _watch(config: Path | None, verbose: bool) -> None:
    import signal
    import threading
    from datetime import UTC

    from linkcli import clock
    from linkcli.runloop import RunResult, watch

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def report(done: RunResult) -> None:
        _report_run(done, verbose)
        if verbose and done.lock_held is None and done.wake_at is not None:
            from linkcli.core.when import people_time

            wake = done.wake_at
            output.info_line(f"next wake {people_time(wake, wake.astimezone().tzinfo or UTC)}")

    watch(lambda: _ctx(config, verbose), stop, report, lambda: clock.now({}))


@app.command(short_help="What was sent, what is next, what needs a human.")
@_guarded
def status(
    config: ConfigOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Exit 1 with one line when something needs a human (for monitoring)."
        ),
    ] = False,
) -> None:
    """What was sent, what is due next, what failed and what needs a human.

    Example: linkcli status --json
    """
    from linkcli.commands.status import run_status

    ctx = _ctx(config)
    with ctx.store(locked=False, readonly=True) as store:
        result = run_status(ctx, store, check)
    if json_:
        output.print_json(result.report)
    elif not check:
        output.show_status(result.report)
    if result.problems:
        output.error_line("; ".join(result.problems))
    _exit(result.exit_code)


@app.command(short_help="Every planned message, exactly as it will go.")
@_guarded
def preview(
    config: ConfigOpt = None,
    days: Annotated[
        int,
        typer.Option(
            "--days", metavar="DAYS", callback=_days, help="How many days ahead (0 to 366)."
        ),
    ] = 7,
    therapist: Annotated[
        str | None,
        typer.Option(
            "--therapist", metavar="ID", help="Only this therapist's sessions (the source's id)."
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="A JSON list for machines.")] = False,
) -> None:
    """Every message planned in the next days, exactly as it will be sent.

    Example: linkcli preview --days 2 --json
    """
    from linkcli.runloop import preview_ahead

    ctx = _ctx(config)
    with ctx.store(locked=False) as store:
        items = preview_ahead(ctx, store, days, therapist)
    if json_:
        output.print_json(items)
    else:
        from linkcli.shared import test_mode

        output.show_preview(items, test_mode(ctx.config))


def _days(value: int) -> int:
    """`--days`: 0 to 366 (said in words, not as a range expression)."""
    if not 0 <= value <= 366:
        raise typer.BadParameter(f"{value} is not a number of days from 0 to 366")
    return value


def _opt(flag: str, text: str, metavar: str = "TEXT") -> Any:
    """A string flag of `init` (None when not given, so the question is asked)."""
    return typer.Option(flag, help=text, show_default=False, metavar=metavar)


def _ask(question: str, default: str | None) -> str:
    """One question at the terminal; a closed stdin is a usage error, not a traceback."""
    try:
        return str(typer.prompt(question, default=default))
    except typer.Abort:
        raise LinkcliError(
            "no answer (input closed); give the settings as flags, with --yes to take the defaults",
            ExitCode.USAGE,
        ) from None


@app.command(short_help="Set up: a few questions, a config that passes doctor.")
@_guarded
def init(
    config: ConfigOpt = None,
    practice_name: Annotated[
        str | None,
        typer.Option(
            "--practice-name",
            "--name",
            help="Practice name, as clients know it (required).",
            show_default=False,
            metavar="TEXT",
        ),
    ] = None,
    timezone: Annotated[str | None, _opt("--timezone", "IANA zone, e.g. America/Chicago.")] = None,
    country: Annotated[str | None, _opt("--country", "Two-letter country code.")] = None,
    language: Annotated[
        str | None, _opt("--language", "Clients' default language: en, es.")
    ] = None,
    source: Annotated[
        str | None,
        _opt("--source", "file, ics, simplepractice, therapynotes, calendly, zoom, fhir or rest."),
    ] = None,
    source_path: Annotated[str | None, _opt("--source-path", "file source: the JSON file.")] = None,
    feed_url: Annotated[
        str | None, _opt("--feed-url", "ics sources: the feed URL or path.", "URL")
    ] = None,
    therapist_id: Annotated[
        str | None, _opt("--therapist-id", "ics sources: the feed's therapist id.", "ID")
    ] = None,
    therapist_name: Annotated[
        str | None, _opt("--therapist-name", "ics sources: the therapist's full name.")
    ] = None,
    therapist_display_name: Annotated[
        str | None,
        _opt("--therapist-display-name", "ics sources: the name clients see (Dr. Chen)."),
    ] = None,
    therapist_link: Annotated[
        str | None,
        _opt(
            "--therapist-link",
            "ics sources: a fixed link (TherapyNotes: the TherapyPortal waiting room).",
            "URL",
        ),
    ] = None,
    base_url: Annotated[str | None, _opt("--base-url", "API sources: the base URL.", "URL")] = None,
    oauth_url: Annotated[
        str | None, _opt("--oauth-url", "zoom: the OAuth token URL.", "URL")
    ] = None,
    rest_path: Annotated[
        str | None, _opt("--rest-path", "rest: the appointments path under the base URL.")
    ] = None,
    contacts: Annotated[
        str | None,
        _opt("--contacts", "Feeds and Zoom: the contacts CSV (created with its header).", "PATH"),
    ] = None,
    sms_provider: Annotated[str | None, _opt("--sms-provider", "twilio or outbox.")] = None,
    from_number: Annotated[
        str | None, _opt("--from-number", "twilio: the sending number, E.164.")
    ] = None,
    email_provider: Annotated[str | None, _opt("--email-provider", "smtp or outbox.")] = None,
    smtp_host: Annotated[str | None, _opt("--smtp-host", "smtp: the server host.")] = None,
    smtp_port: Annotated[int | None, _opt("--smtp-port", "smtp: the port.", "PORT")] = None,
    security: Annotated[str | None, _opt("--security", "smtp: starttls, ssl or none.")] = None,
    from_address: Annotated[str | None, _opt("--from-address", "smtp: the From address.")] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "--no-input",
            "-y",
            help="Never prompt: take the default for every setting not given as a flag.",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing config file.")
    ] = False,
    no_doctor: Annotated[
        bool, typer.Option("--no-doctor", help="Do not run `doctor` at the end.")
    ] = False,
) -> None:
    """Write a config from a few questions (or flags), create the files it needs, print
    the cron lines and a systemd unit, then run `doctor` on it.

    Example: linkcli init --name "Sunrise Therapy" --source file --sms-provider outbox
    --email-provider outbox --yes
    """
    from linkcli.commands.init import (
        gather,
        linkcli_executable,
        next_steps,
        refuse_overwrite,
        render_config,
        target_path,
        write_config,
        write_starter_files,
    )

    path = target_path(config, os.environ)
    refuse_overwrite(path, force)  # before any question: never ask, then refuse
    given = {
        "practice_name": practice_name,
        "timezone": timezone,
        "country": country,
        "language": language,
        "source": source,
        "source_path": source_path,
        "feed_url": feed_url,
        "therapist_id": therapist_id,
        "therapist_name": therapist_name,
        "therapist_display": therapist_display_name,
        "therapist_link": therapist_link,
        "base_url": base_url,
        "oauth_url": oauth_url,
        "rest_path": rest_path,
        "contacts_path": contacts,
        "sms_provider": sms_provider,
        "from_number": from_number,
        "email_provider": email_provider,
        "smtp_host": smtp_host,
        "smtp_port": None if smtp_port is None else str(smtp_port),
        "security": security,
        "from_address": from_address,
    }
    answers = gather(given, None if yes else _ask, output.warn_line)
    written = write_config(path, render_config(answers), os.environ)
    made = write_starter_files(written)
    output.show_init(next_steps(written, path, os.environ, linkcli_executable(), made))
    if not no_doctor:
        _run_doctor(path, json_=False, intro="Checking it now (linkcli doctor):")


def _run_doctor(config: Path | None, json_: bool, intro: str | None = None) -> ExitCode:
    """`doctor`, with progress on stderr while each network step runs (a terminal only)."""
    from linkcli.commands.doctor import NETWORK_STEPS, run_doctor

    ctx = _ctx(config)
    with output.progress(NETWORK_STEPS) as step:
        result = run_doctor(ctx, step)
    report = result.to_dict()
    if json_:
        output.print_json(report)
    else:
        if intro:
            output.info_line("\n" + intro)
        output.show_doctor(report)
    if result.failed:
        failed = result.failed_names
        output.error_line(f"{len(failed)} check(s) failed: {', '.join(failed)}")
    return result.exit_code


@app.command(short_help="Check the setup end to end, sending nothing.")
@_guarded
def doctor(
    config: ConfigOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """Check config, secrets, database, source, Twilio, SMTP, templates, links and clock.

    Exits 1 when a check fails (2 when the config itself is invalid); warnings alone exit
    0. Nothing is sent or synced.

    Example: linkcli doctor --config /etc/linkcli/config.toml
    """
    _exit(_run_doctor(config, json_))


@app.command(short_help="A synthetic practice's week, offline.")
@_guarded
def demo(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Not used: the demo writes its own config (accepted so "
            "scripts may pass --config to every command).",
            show_default=False,
        ),
    ] = None,
    keep: Annotated[
        Path | None,
        typer.Option(
            "--keep",
            metavar="DIR",
            help="Run in DIR (new or empty) and leave its config, "
            "database and outbox files there to explore.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """A synthetic practice's week through the real sync and dispatch, offline.

    No config, credentials or network: a made-up practice (three therapists, ~30
    sessions, a group, reschedules, a cancellation) runs on the file source and outbox
    channels in a scratch folder; then the timeline of every message and the status.

    Example: linkcli demo --keep ./linkcli-demo
    """
    from linkcli.commands.demo import run_demo
    from linkcli.commands.status import build_status

    output.show_demo(run_demo(os.environ, build_status, keep))


@app.command(short_help="Why one session's messages did or will (not) go.")
@_guarded
def explain(
    appointment_id: Annotated[
        str,
        typer.Argument(
            metavar="APPOINTMENT",
            help="The appointment id as `linkcli status` shows it, or a unique start of "
            "it; with --date, a client's name.",
            show_default=False,
        ),
    ],
    on: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="The session's day (practice time): APPOINTMENT is then a client's name.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """Every step of one appointment's messages, per client, and why each did or will not go.

    Examples: linkcli explain apt-1001 --json;  linkcli explain "Alex Rivera" --date 2026-11-24
    """
    from linkcli.commands.explain import build_explain

    ctx = _ctx(config)
    with ctx.store(locked=False, readonly=True) as store:
        data = build_explain(ctx, store, appointment_id, _day(on))
    if json_:
        output.print_json(data)
    else:
        output.show_explain(data)


@app.command()
@_guarded
def report(
    config: ConfigOpt = None,
    days: Annotated[
        int,
        typer.Option(
            "--days", metavar="DAYS", callback=_report_days, help="How many days, ending now."
        ),
    ] = 7,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Also write the report as a self-contained HTML page.",
            show_default=False,
        ),
    ] = None,
    email: Annotated[bool, typer.Option("--email", help="Email the page to [report] to.")] = False,
) -> None:
    """The last days in figures: messages, replies, minutes saved.

    Per therapist and in total: sessions, messages, on-time texts, delivery, replies,
    link requests answered, minutes saved, messages given up.

    Example: 0 8 * * 1 linkcli report --email
    """
    from linkcli.commands.report import build
    from linkcli.commands.report import email as email_report

    ctx = _ctx(config)
    with ctx.store(locked=False, readonly=True) as store:
        data = build(ctx, store, days)
    page = output.report_html(data) if html or email else ""
    if html:
        try:
            html.write_text(page, encoding="utf-8")
        except OSError as exc:
            raise LinkcliError(f"cannot write {html}: {exc.strerror}", ExitCode.USAGE) from None
    sent = email_report(ctx, data, output.report_text(data), page) if email else []
    if json_:
        output.print_json(data)
    elif not (email or html):
        output.show_report(data)
    if sent:
        output.info_line(f"report emailed to {', '.join(sent)}")


def _day(value: str | None) -> Any:
    """`--date` as a date; a bad one is a usage error naming the shape."""
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise LinkcliError(
            f"--date {value!r} is not a day written YYYY-MM-DD (e.g. 2026-12-06)", ExitCode.USAGE
        ) from None


def _report_days(value: int) -> int:
    """`report --days`: 1 to 366 (said in words, not as a range expression)."""
    if not 1 <= value <= 366:
        raise typer.BadParameter(f"{value} is not a number of days from 1 to 366")
    return value


def main() -> None:
    """Console-script entry point."""
    app()
