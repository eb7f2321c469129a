"""A transport whose end is noticed: the server's stdout closing while nobody is calling it.

The SDK's dispatcher simply stops reading when a stdio server's stdout ends (the process died);
nothing tells the task holding the connection. Wrapping the transport's read stream lets that
task hear it at once, so the server shows as failed (with its last stderr lines) and the next
use starts it afresh, instead of the next call failing against a dead process.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any


class WatchedReadStream:
    """The transport's read stream, calling ``on_end`` once when it ends or is closed."""

    def __init__(self, inner: Any, on_end: Callable[[], None]) -> None:
        self._inner = inner
        self._on_end = on_end

    async def receive(self) -> Any:
        import anyio

        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_end()
            raise

    def __aiter__(self) -> WatchedReadStream:
        return self

    async def __anext__(self) -> Any:
        import anyio

        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> WatchedReadStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._inner.aclose()

    def close(self) -> None:
        self._inner.close()

    def __getattr__(self, name: str) -> Any:  # e.g. the HTTP stream's ``last_context``
        return getattr(self._inner, name)


@contextlib.asynccontextmanager
async def watched(transport: AbstractAsyncContextManager[Any],
                  on_end: Callable[[], None]) -> AsyncIterator[tuple[Any, Any]]:
    """``transport`` with its read stream watched (see :class:`WatchedReadStream`)."""
    async with transport as (read_stream, write_stream):
        yield WatchedReadStream(read_stream, on_end), write_stream
