"""The run context: config, environment, the current instant, built once per command."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from linkcli import clock, lock
from linkcli.config import Config, default_config_path, load_config
from linkcli.store import Store


@dataclass
class Context:
    """Everything a command needs from the outside world, injected at the edge."""

    env: Mapping[str, str]
    config_path: Path
    verbose: bool = False
    _config: Config | None = field(default=None, repr=False)
    _now: datetime | None = field(default=None, repr=False)

    @classmethod
    def create(cls, env: Mapping[str, str], config: Path | None, verbose: bool = False) -> Context:
        """Resolve the config path (--config, else $LINKCLI_CONFIG, else platform dir)."""
        path = config.expanduser() if config else default_config_path(env)
        return cls(env=dict(env), config_path=path, verbose=verbose)

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
    def store(self, locked: bool = True) -> Iterator[Store]:
        """The open store; `locked` holds the one-run-at-a-time lock while it is open."""
        path = self.config.store_path
        if locked:
            with lock.hold(path):
                store = Store.open(path)
                try:
                    yield store
                finally:
                    store.close()
        else:
            store = Store.open(path)
            try:
                yield store
            finally:
                store.close()
