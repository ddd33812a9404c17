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
