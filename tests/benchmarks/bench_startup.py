"""Start-up benchmark: from process start to the first frame with the prompt ready, in a real pty.

Run: ``python tests/benchmarks/bench_startup.py [--runs N]``. Measured, not asserted (DESIGN.md).

The real ``glm-tui`` command runs in a pseudo-terminal of 120x40, exactly as a person starts it;
the clock stops when the bytes it writes contain the prompt's placeholder (the first frame that
has the prompt; the prompt has focus from the first frame). Scenarios:

* ``no server``: the default profile points at a loopback port where nothing listens;
* ``--demo``: the in-process demo server is started first;
* ``--resume`` of a 2,000-message session: until the newest question is on screen;
* ``--demo`` with two MCP servers in config.toml: none starts and the SDK is not imported until
  a server is used, so this should cost what plain ``--demo`` costs.

Each run then presses Ctrl+Q and times the exit (demo server stopped, client closed).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

PROMPT_MARK = "sk something · Enter sends".encode()  # the first letter carries the cursor
ROWS, COLUMNS = 40, 120


def _free_dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/"


def run_once(args: list[str], env: dict[str, str], mark: bytes,
             timeout: float = 30.0) -> tuple[float, float, float]:
    """Seconds to the first frame containing ``mark``, seconds from Ctrl+Q to exit, and the
    process's peak resident memory in MB."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "glm_tui", *args],
        stdin=follower, stdout=follower, stderr=follower, env=env, start_new_session=True,
        close_fds=True,
    )
    os.close(follower)
    seen = b""
    first_frame = None
    try:
        while first_frame is None:
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"no prompt after {timeout} s; output: {seen[-400:]!r}")
            ready, _, _ = select.select([leader], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:
                    break
                seen += chunk
                if mark in seen:
                    first_frame = time.perf_counter() - started
        if first_frame is None:
            raise RuntimeError(f"the app ended before its first frame: {seen[-400:]!r}")
        time.sleep(0.5)  # let the background check run, as a person would take a moment
        quit_at = time.perf_counter()
        os.write(leader, b"\x11")  # Ctrl+Q
        peak_mb = 0.0
        while process.returncode is None:
            if time.perf_counter() - quit_at > timeout:
                raise TimeoutError("the app did not exit after Ctrl+Q")
            ready, _, _ = select.select([leader], [], [], 0.05)
            if ready:
                with contextlib.suppress(OSError):
                    os.read(leader, 65536)
            # wait4 (not poll) so that the child's own peak memory comes back with it.
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                peak_mb = usage.ru_maxrss / 1024
        exit_s = time.perf_counter() - quit_at
        if process.returncode != 0:
            raise RuntimeError(f"exit status {process.returncode}")
        return first_frame, exit_s, peak_mb
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(leader)


def make_long_session(data_dir: Path) -> str:
    # Run by hand as a script: make the checkout importable for the shared test helpers.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.support.sessions import store_long_session

    return store_long_session(data_dir).id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="glm-tui-bench-"))
    env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(COLUMNS), LINES=str(ROWS),
               GLM_TUI_DATA_DIR=str(home / "data"), GLM_TUI_CONFIG=str(home / "config.toml"))
    env.pop("OPENAI_BASE_URL", None)
    long_id = make_long_session(home / "data")
    (home / "mcp.toml").write_text(
        '[mcp_servers.clock]\ncommand = "/nonexistent/clock-server"\n\n'
        '[mcp_servers.files]\nurl = "http://127.0.0.1:9/mcp"\n', encoding="utf-8")
    mcp_env = dict(env, GLM_TUI_CONFIG=str(home / "mcp.toml"))
    scenarios = [
        ("no server", ["--base-url", _free_dead_url()], PROMPT_MARK, env),
        ("--demo", ["--demo"], PROMPT_MARK, env),
        ("--resume 2,000 messages", ["--resume", long_id, "--base-url", _free_dead_url()],
         b"Question number 999", env),
        ("--demo, 2 MCP servers set", ["--demo"], PROMPT_MARK, mcp_env),
    ]
    print(f"glm-tui start-up, {options.runs} runs each, pty {COLUMNS}x{ROWS}, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for name, args, mark, scenario_env in scenarios:
        run_once(args, scenario_env, mark)  # warm the file cache (bytecode, fonts...)
        firsts, exits, peaks = [], [], []
        for _ in range(options.runs):
            first, exit_s, peak_mb = run_once(args, scenario_env, mark)
            firsts.append(first)
            exits.append(exit_s)
            peaks.append(peak_mb)
        print(f"  {name:26} first frame: median {statistics.median(firsts) * 1000:6.0f} ms"
              f" (min {min(firsts) * 1000:.0f}, max {max(firsts) * 1000:.0f})"
              f"   exit after Ctrl+Q: median {statistics.median(exits) * 1000:.0f} ms"
              f"   peak memory: {max(peaks):.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
