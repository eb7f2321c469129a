"""Benchmark: a thinking reply through the client and the chat turn, without a UI.

Run by hand: ``.venv/bin/python tests/benchmarks/bench_thinking_client.py`` (``--quick`` for one
small run). Not collected by pytest.

100 KB of reasoning then a 20 KB answer, streamed at 2,000 tokens/s by the demo server in a
process of its own (so its CPU is not counted), through ``ChatClient`` and ``Turn.run`` into a
view that draws nothing: the figure is glm-tui's own cost of reading a thinking reply (SSE
framing, JSON, the reasoning fields or the inline ``<think>`` splitter, the tracker). Then the
same at twice the size: linear cost means CPU x2 size <= x2.2. Both shapes are measured:
``reasoning`` beside the content (the ``vllm`` flavour) and inline ``<think>`` in the content
(the ``inline`` flavour, where every content piece passes the tag splitter).

Figures: CPU seconds (``time.process_time`` of this process, from sending to the end), wall
seconds, and the largest gap between two view calls (a stall the screen would show).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from glm_tui.chat.reply_tracker import ReplyStats
from glm_tui.chat.turn import ChatSource, Link, Turn, TurnOutcome, prepare_turn
from glm_tui.client.client import ChatClient
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import Message, MessageStatus, Role, Session

TOKENS_PER_SECOND = 2_000
REASONING = 100_000
ANSWER = 20_000
LINEAR_LIMIT = 2.2

SERVER = """
import sys, time
from glm_tui.demo.server import DemoServer
server = DemoServer(flavor=sys.argv[1], token_rate=float(sys.argv[2]))
print(server.start(), flush=True)
sys.stdin.read()
server.stop()
"""


class _Blind:
    """A TurnView that draws nothing but notes the longest pause between two calls."""

    def __init__(self) -> None:
        self.last: float | None = None  # the first piece's wait is the server's, not a gap
        self.worst_gap = 0.0
        self.text: Callable[[str], None] = self._tick
        self.reasoning: Callable[[str], None] = self._tick

    def _tick(self, piece: str) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.worst_gap = max(self.worst_gap, now - self.last)
        self.last = now

    def answer_was_reasoning(self, text: str) -> None: ...
    def state(self) -> None: ...
    def link(self, state: Link, detail: str) -> None: ...
    def stats(self, stats: ReplyStats) -> None: ...
    def save(self) -> None: ...
    def finished(self, outcome: TurnOutcome) -> None: ...


@dataclass
class Result:
    shape: str
    reasoning_chars: int
    answer_chars: int
    cpu_s: float
    wall_s: float
    worst_gap_s: float


async def run_one(url: str, shape: str, scale: int) -> Result:
    question = (f"Think hard [[demo:reasoning={REASONING * scale}]]"
                f"[[demo:size={ANSWER * scale}]]")
    session = Session(model="glm-5", messages=[Message(Role.USER, question)])
    client = ChatClient(url, "EMPTY", read_timeout=60)
    await client.list_models()  # openai imported and the connection open before measuring
    turn = Turn(prepare_turn(session, ServerKind.VLLM), Message(Role.ASSISTANT),
                save_interval=1.0)
    view = _Blind()

    async def connect() -> ChatSource:
        return client

    cpu, wall = time.process_time(), time.perf_counter()
    outcome = await turn.run(connect, view)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await client.aclose()
    reply = outcome.reply
    assert reply.status is MessageStatus.COMPLETE, reply.error
    assert len(reply.reasoning) == REASONING * scale, len(reply.reasoning)
    assert len(reply.content) == ANSWER * scale and "<think>" not in reply.content
    return Result(shape, len(reply.reasoning), len(reply.content), cpu, wall, view.worst_gap)


def measure(flavor: str, shape: str, scales: tuple[int, ...]) -> list[Result]:
    server = subprocess.Popen([sys.executable, "-c", SERVER, flavor, str(TOKENS_PER_SECOND)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        return [asyncio.run(run_one(url, shape, scale)) for scale in scales]
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)


def main() -> int:
    quick = "--quick" in sys.argv
    scales = (1,) if quick else (1, 2)
    failed = False
    for flavor, shape in (("vllm", "reasoning field"), ("inline", "inline <think>")):
        results = measure(flavor, shape, scales)
        for result in results:
            print(json.dumps(asdict(result)))
        if len(results) == 2:
            ratio = results[1].cpu_s / results[0].cpu_s
            verdict = "linear" if ratio <= LINEAR_LIMIT else "NOT LINEAR"
            failed |= ratio > LINEAR_LIMIT
            print(f"{shape}: CPU x2 size = x{ratio:.2f} ({verdict}, limit x{LINEAR_LIMIT})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
