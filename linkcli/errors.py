"""Exit codes and the error classes that carry them.

Every foreseeable failure is raised as a `LinkcliError`; the CLI turns it into one
stderr line and its exit code in exactly one place (`cli.main`).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes of the external contract (DESIGN.md)."""

    OK = 0
    SENDS_FAILED = 1
    USAGE = 2
    SOURCE = 3
    LOCKED = 4
    INTERNAL = 5  # a bug in linkcli, never a state of the world


class LinkcliError(Exception):
    """A failure a user can act on: one line of text and an exit code."""

    exit_code: ExitCode = ExitCode.SENDS_FAILED

    def __init__(self, message: str, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(LinkcliError):
    """The config file is missing, malformed or inconsistent (exit 2)."""

    exit_code = ExitCode.USAGE

    def __init__(self, problems: list[str] | str, path: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        where = f"{path}: " if path else ""
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more problem(s))" if len(self.problems) > 1 else ""
        super().__init__(f"config error: {where}{first}{more}")


class UsageError(LinkcliError):
    """A command line or environment value that cannot be used (exit 2)."""

    exit_code = ExitCode.USAGE


class SourceError(LinkcliError):
    """The schedule could not be read, or its listing was refused (exit 3)."""

    exit_code = ExitCode.SOURCE


class LockHeld(LinkcliError):
    """Another linkcli run holds the store (exit 4)."""

    exit_code = ExitCode.LOCKED


class StoreError(LinkcliError):
    """The database cannot be opened or is damaged (exit 2: the operator must act)."""

    exit_code = ExitCode.USAGE
