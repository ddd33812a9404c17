"""The command line: typer wiring only. Each command builds the context, calls one
function, and hands the result to `output`. Errors become one stderr line and the
contract's exit code in `_guarded`, the only place that translates them."""

from __future__ import annotations

import functools
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from linkcli import __version__, output
from linkcli.context import Context
from linkcli.errors import ExitCode, LinkcliError

app = typer.Typer(
    name="linkcli",
    help="Deliver session-specific telehealth links to therapy clients, from cron.\n\n"
    "Example crontab:  * * * * * linkcli run",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $LINKCLI_CONFIG, else the "
                 "platform config folder).", show_default=False),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Say what was done.")]
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
        except KeyboardInterrupt:
            output.error_line("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:  # a bug: still one line for cron, details with -v
            output.error_line(f"internal error: {type(exc).__name__}: {exc}")
            if kwargs.get("verbose"):
                traceback.print_exc()
            raise typer.Exit(int(ExitCode.SENDS_FAILED)) from None

    return wrapper  # type: ignore[return-value]


def _ctx(config: Path | None, verbose: bool = False) -> Context:
    return Context.create(os.environ, config, verbose)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"linkcli {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Deliver session-specific telehealth links to therapy clients, from cron."""


@app.command()
@_guarded
def sync(
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Apply a listing in which most "
                                        "upcoming sessions vanished at once.")] = False,
    confirm_existing: Annotated[bool, typer.Option(
        "--confirm-existing", help="On the first sync, also send booking confirmations "
        "for sessions that already exist.")] = False,
) -> None:
    """Read the schedule, diff it against the snapshot and plan the messages.

    Example: linkcli sync --config /etc/linkcli/config.toml
    """
    from linkcli.commands.sync import run_sync

    ctx = _ctx(config, verbose)
    with ctx.store() as store:
        result = run_sync(ctx, store, force=force, confirm_existing=confirm_existing)
    _report_sync(result, verbose)


def _report_sync(result: Any, verbose: bool) -> None:
    for problem in result.problems:
        output.warn_line(problem)
    if verbose:
        counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
        note = " (first sync: existing sessions adopted without confirmations)" if (
            result.adopted) else ""
        output.info_line(f"sync: {counts}; {result.planned} message(s) planned{note}")


@app.command()
@_guarded
def dispatch(config: ConfigOpt = None, verbose: VerboseOpt = False) -> None:
    """Send every message that is due now. Safe to run every minute.

    Example: linkcli dispatch
    """
    from linkcli.commands.dispatch import run_dispatch

    ctx = _ctx(config, verbose)
    with ctx.store() as store:
        result = run_dispatch(ctx, store)
    _finish_dispatch(result, verbose)


def _finish_dispatch(result: Any, verbose: bool) -> None:
    for line in result.errors:
        output.warn_line(line)
    if verbose:
        output.info_line(
            f"dispatch: sent {result.sent}, failed {result.failed}, retrying "
            f"{result.retrying}, skipped {result.skipped}, canceled {result.canceled}, "
            f"waiting {result.waiting}"
        )
    if result.stale and result.waiting:
        output.warn_line(f"{result.waiting} message(s) wait: the last good sync is too old "
                         "(see `linkcli status`)")
    if result.exit_code:
        raise LinkcliError(f"{result.failed + result.retrying} send(s) failed; see "
                           "`linkcli status`", result.exit_code)


@app.command()
@_guarded
def run(
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
    force: Annotated[bool, typer.Option("--force", help="As for sync.")] = False,
) -> None:
    """Sync (when the interval has passed), then dispatch: the one-line crontab.

    The dispatch goes ahead from the last good snapshot even when the sync fails; the
    exit code is then the sync's.

    Example: * * * * * linkcli run
    """
    from linkcli.commands.dispatch import run_dispatch
    from linkcli.commands.sync import run_sync

    ctx = _ctx(config, verbose)
    sync_error: LinkcliError | None = None
    with ctx.store() as store:
        good = store.last_good_sync()
        last = store.last_sync()
        due = last is None or good is None or ctx.now - _finished(last) >= (
            ctx.config.sync.interval) or ctx.now < _finished(last)
        if due or force:
            try:
                _report_sync(run_sync(ctx, store, force=force), verbose)
            except LinkcliError as exc:
                if exc.exit_code not in (ExitCode.SOURCE,):
                    raise
                sync_error = exc
        result = run_dispatch(ctx, store)
    if sync_error is not None:
        for line in result.errors:
            output.warn_line(line)
        raise sync_error
    _finish_dispatch(result, verbose)


def _finished(row: dict[str, Any]) -> Any:
    from linkcli.store import parse_ts

    return parse_ts(row["finished_at"])


@app.command()
@_guarded
def status(
    config: ConfigOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 with one line when "
                                        "something needs a human (for monitoring).")] = False,
) -> None:
    """What was sent, what is due next, what failed and what needs a human.

    Example: linkcli status --json
    """
    from linkcli.commands.status import build_status, check_problems

    ctx = _ctx(config)
    with ctx.store(locked=False) as store:
        report = build_status(ctx, store)
        problems = check_problems(ctx, store, report) if check else []
    if json_:
        output.print_json(report)
    elif not check:
        output.show_status(report)
    if problems:
        raise LinkcliError("; ".join(problems), ExitCode.SENDS_FAILED)


@app.command()
@_guarded
def preview(
    config: ConfigOpt = None,
    days: Annotated[int, typer.Option("--days", min=0, help="How many days ahead.")] = 7,
    therapist: Annotated[str | None, typer.Option("--therapist", help="Only this "
                                                  "therapist's sessions (the source's id).")]
    = None,
    json_: Annotated[bool, typer.Option("--json", help="A JSON list for machines.")] = False,
) -> None:
    """Every message planned in the next days, exactly as it will be sent.

    Example: linkcli preview --days 2 --json
    """
    from linkcli.commands.preview import build_preview

    ctx = _ctx(config)
    with ctx.store(locked=False) as store:
        items = build_preview(ctx, store, days, therapist)
    if json_:
        output.print_json(items)
    else:
        output.show_preview(items)


def main() -> None:
    """Console-script entry point."""
    app()
