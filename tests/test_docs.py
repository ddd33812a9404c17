"""Docs and help cannot drift: every command has help with an example and a README entry;
config.example.toml loads and names every key the config reader accepts."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from linkcli.cli import app
from linkcli.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def command_names() -> list[str]:
    return sorted(c.name or c.callback.__name__ for c in app.registered_commands)


def test_every_contract_command_exists():
    contract = {"init", "sync", "dispatch", "run", "status", "preview", "doctor", "demo"}
    assert contract <= set(command_names())


def test_every_command_has_help_with_an_example_and_a_readme_entry():
    readme = (ROOT / "README.md").read_text()
    runner = CliRunner()
    for name in command_names():
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.stdout, name
        assert "--config" in result.stdout, name
        assert f"`linkcli {name}" in readme, name


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m pytest -q" in readme and "python -m pytest -q" in ci
    assert "pip install -e '.[test]'" in readme and "pip install --quiet -e '.[test]'" in ci


def test_config_example_loads_and_documents_every_key():
    example = ROOT / "config.example.toml"
    load_config(example, {})
    text = example.read_text()
    source = (ROOT / "linkcli" / "config.py").read_text()
    keys: set[str] = set()
    for block in re.findall(r"unknown_keys\(\([^)]*\),\s*\(([^)]*)\)", source):
        keys |= set(re.findall(r'"([a-z_]+)"', block))
    for block in re.findall(r"_keys = \(([^)]*)\)", source):
        keys |= set(re.findall(r'"([a-z_]+)"', block))
    keys.discard("templates")  # a table ([therapists."ID".templates."STEP"]), shown as such
    missing = sorted(k for k in keys if not re.search(rf"^#?\s*{k}\s*=", text, re.M))
    assert missing == []


def test_the_readme_quick_start_runs(tmp_path):
    """The linkcli part of the README's first quick-start command works as written."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    first, second = [line for line in block.strip().splitlines() if line.strip()]
    assert first.endswith("linkcli demo") and "pip install -e ." in first
    assert second.endswith("python -m pytest -q")
    result = CliRunner().invoke(app, ["demo"], env={"LINKCLI_CONFIG": str(tmp_path / "x")})
    assert result.exit_code == 0, result.output
    assert "Needs attention" in result.stdout


def test_version_and_module_entry_point():
    import subprocess
    import sys

    from linkcli import __version__

    out = subprocess.run(
        [sys.executable, "-m", "linkcli", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"linkcli {__version__}"


def test_the_readme_init_for_scripts_works_as_written(tmp_path):
    """The README's `init --yes` line writes a config that `doctor` passes (test mode)."""
    import shlex

    readme = (ROOT / "README.md").read_text()
    line = next(ln for ln in readme.splitlines() if ln.startswith("linkcli init --yes"))
    env = {"LINKCLI_CONFIG": str(tmp_path / "practice" / "config.toml")}
    result = CliRunner().invoke(app, shlex.split(line)[1:], env=env)
    assert result.exit_code == 0, result.output
    assert "0 fail" in result.stdout
    assert "nothing reaches clients" in result.stdout
    quick = readme.split("## Quick start", 1)[1].split("## Going live", 1)[0]
    assert ". .venv/bin/activate" in quick and ".venv/bin/linkcli" in quick
