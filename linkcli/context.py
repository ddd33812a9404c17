"""The run context: config, environment, the current instant, built once per command."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from linkcli import clock, lock
from linkcli.config import Config, default_config_path, load_config
from linkcli.store import Store

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class Seams:
    """What a caller may hand a run instead of the real thing: the HTTP client sources
    use (a test's client on loopback or under respx). Passed to the CLI as the Click
    context's `obj` (`CliRunner.invoke(app, args, obj=Seams(...))`); None means real."""

    http: httpx.Client | None = None


@dataclass
class Context:
    """Everything a command needs from the outside world, injected at the edge."""

    env: Mapping[str, str]
    config_path: Path
    verbose: bool = False
    seams: Seams = field(default_factory=Seams)
    _config: Config | None = field(default=None, repr=False)
    _now: datetime | None = field(default=None, repr=False)

    @classmethod
    def create(
        cls,
        env: Mapping[str, str],
        config: Path | None,
        verbose: bool = False,
        seams: Seams | None = None,
    ) -> Context:
        """Resolve the config path (--config, else $LINKCLI_CONFIG, else platform dir)."""
        path = config.expanduser() if config else default_config_path(env)
        return cls(env=dict(env), config_path=path, verbose=verbose, seams=seams or Seams())

    @property
    def http(self) -> httpx.Client | None:
        """The HTTP client sources use: the seam's, else None (each source makes its own)."""
        return self.seams.http

    @property
    def now(self) -> datetime:
        """The current instant, read once per run (honours LINKCLI_NOW)."""
        if self._now is None:
            self._now = clock.now(self.env)
        return self._now

    @property
    def config(self) -> Config:
        """The validated config (loaded on first use)."""
        if self._config is None:
            self._config = load_config(self.config_path.resolve(), self.env)
        return self._config

    @contextmanager
    def store(self, locked: bool = True, readonly: bool = False) -> Iterator[Store]:
        """The open store; `locked` holds the one-run-at-a-time lock while it is open;
        `readonly` opens it without writing anything (a missing store reads as empty)."""
        path = self.config.store_path
        if readonly:
            store = Store.open(path, readonly=True)
            try:
                yield store
            finally:
                store.close()
            return
        # A lock file left by earlier runs beside a missing database: the store was
        # deleted or moved, and its history (what was sent) is gone with it.
        replaced = not path.exists() and Path(f"{path}.lock").exists()
        with lock.hold(path) if locked else nullcontext():
            store = Store.open(path)
            try:
                if store.created:
                    self._created(store, replaced)
                yield store
            finally:
                store.close()

    def _created(self, store: Store, replaced: bool) -> None:
        """A new store: remember when (its first texts are looked up first, in case a
        deleted store sent them), and say so once when it replaces a missing one."""
        store.mark_created(self.now)
        if replaced:
            from linkcli.output import warn_line

            warn_line(
                f"a new database was created at {store.path}: the previous one is gone, so "
                "the send history starts again (texts already sent are looked up at Twilio "
                "before they could go twice)"
            )
