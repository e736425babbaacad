"""Bridges on one real redis-server: a Python worker on bridge A while TypeScript watches
through bridge B, and bridge A SIGKILLed in the middle of the run. The worker goes on through B;
no acknowledged write is lost, none is applied twice, and the watcher on B hears each once."""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

import dspex_bridge
from bridge_process import BridgeProcess

HERE = Path(__file__).resolve().parent
WATCHER = HERE / "ts_watcher.mjs"
STEPS = 60
KILL_AT = 20


@pytest.fixture()
def redis_url():
    """A redis-server of its own on a unix socket in a temporary directory (no TCP)."""
    server = shutil.which("redis-server")
    assert server, "redis-server is not installed: run scripts/setup-redis.sh"
    directory = Path(tempfile.mkdtemp(prefix="dspex-redis-"))
    socket = directory / "redis.sock"
    proc = subprocess.Popen(
        [server, "--port", "0", "--unixsocket", str(socket), "--dir", str(directory),
         "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not socket.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.02)
    yield f"unix://{socket}"
    proc.kill()
    proc.wait()
    shutil.rmtree(directory, ignore_errors=True)


class Watcher:
    """ts_watcher.mjs: RemoteState subscribed on one bridge; `events` fills as it hears them."""

    def __init__(self, address: str, session_id: str):
        self.proc = subprocess.Popen(["node", str(WATCHER), address, session_id], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=HERE)
        self.events: list = []
        ready: "queue.Queue[bool]" = queue.Queue()

        def read() -> None:
            for line in self.proc.stdout:
                message = json.loads(line)
                if message.get("ready"):
                    ready.put(True)
                else:
                    self.events.append(message)

        threading.Thread(target=read, daemon=True).start()
        try:
            ready.get(timeout=20)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(f"ts_watcher did not subscribe: {self.proc.stderr.read().decode()}")

    def wait_for(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def test_python_on_a_typescript_on_b_and_a_killed_mid_run(redis_url, tmp_path):
    bridge_a = BridgeProcess("--store", redis_url, log_dir=tmp_path)
    bridge_b = BridgeProcess("--store", redis_url, log_dir=tmp_path)
    watcher = None
    session_id = f"run-{uuid.uuid4().hex[:8]}"
    try:
        with dspex_bridge.connect([bridge_a.address, bridge_b.address], timeout=5) as client:
            assert client.address == bridge_a.address
            ctx = client.session(session_id)
            ctx.register("step", "integer", 0)
            ctx.register("temperature", "float", 0.5, constraints={"min": 0, "max": 2})
            watcher = Watcher(bridge_b.address, session_id)
            acknowledged = []
            for step in range(1, STEPS + 1):
                if step == KILL_AT:
                    # No goodbye: the process dies with calls possibly in flight.
                    bridge_a.proc.send_signal(signal.SIGKILL)
                    bridge_a.proc.wait()
                if step % 10 == 0:
                    versions = ctx.update_many({"step": step, "temperature": step / 100})
                    acknowledged.append(versions["step"])
                else:
                    acknowledged.append(ctx.set("step", step))
            assert client.address == bridge_b.address, "the worker should be on B after A died"
            assert client.failovers >= 1
            # Every acknowledged write applied exactly once, in order: versions 2..STEPS+1.
            assert acknowledged == list(range(2, STEPS + 2))
            history = ctx.history("step", limit=STEPS + 1)
            assert [record.version for record in history] == list(range(STEPS + 1, 0, -1))
            assert [record.value for record in history] == list(range(STEPS, -1, -1))
            assert ctx.get("temperature", fresh=True) == pytest.approx(STEPS / 100)

        # The watcher on B heard every change of "step" once, in commit order, A's included.
        watcher.wait_for(STEPS + STEPS // 10)
        steps = [e for e in watcher.events if e["name"] == "step"]
        assert [e["version"] for e in steps] == list(range(2, STEPS + 2))
        assert [e["value"] for e in steps] == list(range(1, STEPS + 1))
        temperatures = [e["version"] for e in watcher.events if e["name"] == "temperature"]
        assert temperatures == list(range(2, STEPS // 10 + 2))
    finally:
        if watcher is not None:
            watcher.close()
        if bridge_a.proc.poll() is None:
            bridge_a.stop()
        bridge_b.stop()
