"""What any adapter (source or channel) may also be: something to close.

Sources and channels each declare their optional abilities as runtime-checkable
protocols (`sources/base.py`, `channels/base.py`); closing is shared by both, so it
lives here, with the one helper every caller uses instead of probing for `close`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar, runtime_checkable


@runtime_checkable
class Closeable(Protocol):
    """Holds connections or files that must be released when the run ends."""

    def close(self) -> None: ...


T = TypeVar("T")


def close(adapter: object) -> None:
    """Release `adapter` if it holds anything (a file source holds nothing)."""
    if isinstance(adapter, Closeable):
        adapter.close()


@contextmanager
def closing(adapter: T) -> Iterator[T]:
    """`with closing(source) as s:` whether or not the adapter needs closing."""
    try:
        yield adapter
    finally:
        close(adapter)
