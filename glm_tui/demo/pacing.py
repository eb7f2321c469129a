"""Token pacing for the demo server: when each generated token is due, and waiting for it.

A reply is sent as if a model generated it at ``token_rate`` tokens per second, so the client's
streaming, lag and cancel paths are exercised at realistic speeds. Waits end early when the server
stops (:class:`Stopping`), so no open stream holds ``stop()`` up.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence

from glm_tui.demo.wire import Frame

SLICE_S = 0.005


class Stopping(Exception):
    """The server is stopping; open streams are cut."""


class TokenClock:
    """Token pacing: token k (1-based) is ready at ``start + k / rate``."""

    def __init__(self, start: float, rate: float, stop: threading.Event) -> None:
        self.start = start
        self.rate = rate
        self.stop = stop

    def due_at(self, tokens: int) -> float:
        if self.rate <= 0 or not math.isfinite(self.rate):
            return self.start
        return self.start + tokens / self.rate

    def wait(self, tokens: int) -> None:
        """Sleep until ``tokens`` tokens are ready; raise Stopping if the server stops."""
        while True:
            remaining = self.due_at(tokens) - time.monotonic()
            if remaining <= 0:
                return
            if self.stop.wait(remaining):
                raise Stopping

    def batches(self, frames: Sequence[Frame]) -> Iterator[bytes]:
        """The frames in time order, every frame that is due joined into one write per slice."""
        index = 0
        while index < len(frames):
            now = time.monotonic()
            end = index
            while end < len(frames) and self.due_at(frames[end].due) <= now:
                end += 1
            if end > index:
                yield b"".join(frame.data for frame in frames[index:end])
                index = end
                continue
            pause = max(self.due_at(frames[index].due) - now, SLICE_S)
            if self.stop.wait(pause):
                raise Stopping

