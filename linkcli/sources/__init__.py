"""Appointment sources, one module per platform, loaded only when configured."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from linkcli.sources.base import Source

if TYPE_CHECKING:
    import httpx

    from linkcli.config import Config

_MODULES = {
    "file": "linkcli.sources.file",
    "ics": "linkcli.sources.ics",
    "simplepractice": "linkcli.sources.ics",
    "therapynotes": "linkcli.sources.ics",
    "calendly": "linkcli.sources.calendly",
    "zoom": "linkcli.sources.zoom",
    "fhir": "linkcli.sources.fhir",
    "rest": "linkcli.sources.rest",
}


# The API sources, whose `build` takes the HTTP client (the run context's seam).
_TAKES_CLIENT = frozenset({"calendly", "zoom", "fhir", "rest"})


def open_source(
    config: Config,
    env: Mapping[str, str],
    now: datetime,
    *,
    client: httpx.Client | None = None,
) -> Source:
    """Build the configured source. Each module exposes `build(config, env, now)`; the
    API sources also take `client`, the HTTP client the run context hands in (a test's
    local client; None builds the source's own, which it then closes)."""
    from linkcli.errors import ConfigError

    name = _MODULES.get(config.source.kind)
    if name is None:  # config validation already refuses unknown kinds
        raise ConfigError(f"source.kind {config.source.kind!r} is not supported")
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError:
        raise ConfigError(
            f"source.kind {config.source.kind!r} is not available in this version of linkcli"
        ) from None
    if client is not None and config.source.kind in _TAKES_CLIENT:
        source: Source = module.build(config, env, now, client=client)
    else:
        source = module.build(config, env, now)
    return source
