"""The dependency rule, checked: a pure core, thin CLI, lazy heavy imports."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "linkcli"
IO_LIBS = {
    "sqlite3",
    "sqlite_utils",
    "httpx",
    "twilio",
    "smtplib",
    "typer",
    "rich",
    "socket",
    "requests",
    "subprocess",
}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_is_pure(path):
    for name in imports_of(path):
        top = name.split(".")[0]
        assert top not in IO_LIBS, f"{path.name} imports {name}"
        if top == "linkcli":
            assert name.startswith("linkcli.core"), f"{path.name} imports {name}"


def test_only_the_cli_imports_typer_and_only_cli_and_output_import_rich():
    for path in PACKAGE.rglob("*.py"):
        tops = {name.split(".")[0] for name in imports_of(path)}
        if "typer" in tops:
            assert path.name == "cli.py", path
        if "rich" in tops:
            assert path.name in ("cli.py", "output.py"), path


def test_adapters_never_import_the_cli():
    for folder in ("sources", "channels", "commands"):
        for path in (PACKAGE / folder).glob("*.py"):
            assert "linkcli.cli" not in imports_of(path), path


def test_a_quiet_cron_tick_loads_no_heavy_library(tmp_path):
    """`dispatch` with nothing due must not import twilio, httpx or icalendar."""
    config = tmp_path / "config.toml"
    (tmp_path / "a.json").write_text("[]")
    config.write_text(
        '[source]\nkind = "file"\npath = "a.json"\n[sms]\nprovider = "twilio"\n'
        'from_number = "+16175550100"\n'
    )
    code = (
        "import sys\n"
        "from linkcli.cli import app\n"
        "try:\n    app(['dispatch'])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'twilio','httpx','icalendar'}))"
    )
    env = {
        "LINKCLI_CONFIG": str(config),
        "LINKCLI_NOW": "2026-11-20T12:00:00Z",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stderr


SQL = re.compile(
    r"\bselect\b.+\bfrom\b|\binsert\s+(or\s+\w+\s+)?into\b|\bupdate\s+\w+\s+set\b|"
    r"\bdelete\s+from\b|\bcreate\s+(table|index)\b|\bpragma\s+\w+",
    re.IGNORECASE | re.DOTALL,
)
SQL_CALLS = {"execute", "executemany", "executescript", "query"}


def sql_in(path: Path) -> list[str]:
    """SQL statements and database calls in one module, as `line: what`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if SQL.search(node.value):
                found.append(f"{node.lineno}: {node.value[:60]!r}")
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if SQL.search(str(text)):
                found.append(f"{node.lineno}: {str(text)[:60]!r}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_CALLS
        ):
            found.append(f"{node.lineno}: .{node.func.attr}(")
    return found


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("store.py", "migrations.py")),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_sql_outside_the_store(path):
    """The store owns the schema: every statement is a named Store method."""
    assert sql_in(path) == [], f"{path.name} runs SQL itself; add a Store method"


def test_the_sql_rule_sees_sql():
    store = PACKAGE / "store.py"
    assert len(sql_in(store)) > 20


# The calendar time decides what is due: one read per run, in clock.py, replaceable by
# LINKCLI_NOW. A monotonic counter (lock waits, send pacing) only measures durations and
# is allowed where it is used.
WALL_CLOCK = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
}


def wall_clock_reads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if (name, node.func.attr) in WALL_CLOCK:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}.{node.func.attr}()")
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            # `from time import time` would hide the read from the check above.
            found += [f"{path.name}: from time import {a.name}" for a in node.names]
    return found


def test_the_wall_clock_is_read_only_in_clock_py():
    reads = [
        read
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "clock.py" or path.parent != PACKAGE
        for read in wall_clock_reads(path)
    ]
    assert reads == []
    assert wall_clock_reads(PACKAGE / "clock.py")  # the check does see a real read


# The demo is the whole product end to end on purpose: its closing screen is `status`'s
# own report. Every other shared helper lives outside `commands/` (shared.py,
# verdicts.py, runloop.py).
def test_no_command_module_imports_another_command_module():
    for path in sorted((PACKAGE / "commands").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
                if node.module == "linkcli.commands":
                    names = [f"linkcli.commands.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level:
                names = [f"linkcli.commands.{node.module or ''}"]
            for name in names:
                if name.startswith("linkcli.commands.") and name != "linkcli.commands.__init__":
                    raise AssertionError(f"{path.name} imports {name}")
