"""Fixtures: a real dspex-bridge server (node CLI) on 127.0.0.1:0, and a TypeScript peer."""

from __future__ import annotations

import itertools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any, List, Optional

import pytest

HERE = Path(__file__).resolve().parent
PYTHON_DIR = HERE.parent
PACKAGE_DIR = PYTHON_DIR.parent
BRIDGE_BIN = PACKAGE_DIR / "bin" / "dspex-bridge.js"
TS_PEER = HERE / "ts_peer.mjs"
sys.path.insert(0, str(PYTHON_DIR))

import dspex_bridge  # noqa: E402

LISTENING = "dspex-bridge listening on "


class BridgeProcess:
    """One `dspex-bridge serve` process; `stop()` sends SIGTERM and returns the exit code."""

    def __init__(self, *args: str, port: int = 0, log_dir: Optional[Path] = None):
        self.args = args
        self.log_path = (log_dir or Path(os.environ.get("TMPDIR", "/tmp"))) / f"dspex-bridge-{uuid.uuid4().hex[:8]}.log"
        self._log = open(self.log_path, "wb")
        command = ["node", str(BRIDGE_BIN), "serve", "--host", "127.0.0.1", "--port", str(port), *args]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._log, cwd=PACKAGE_DIR)
        lines: "queue.Queue[bytes]" = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=20).decode()
        except queue.Empty:
            self.proc.kill()
            raise RuntimeError(f"dspex-bridge did not start within 20 s; log: {self.log_path}")
        if not line.startswith(LISTENING):
            self.proc.kill()
            raise RuntimeError(f"unexpected first line {line!r} from dspex-bridge; log: {self.read_log()}")
        self.address = line[len(LISTENING):].strip()
        self.port = int(self.address.rsplit(":", 1)[1])

    def read_log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"dspex-bridge did not exit within {timeout} s of SIGTERM")
        self._log.close()
        self.proc.stdout.close()
        return self.proc.returncode


class TsPeer:
    """The node peer (ts_peer.mjs): `peer.call("get", session=..., name=...)`."""

    def __init__(self, address: str, token: Optional[str] = None):
        args = ["node", str(TS_PEER), address] + ([token] if token else [])
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=HERE)
        self._ids = itertools.count(1)
        self._answers: "dict[int, queue.Queue]" = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            answer = json.loads(line)
            with self._lock:
                box = self._answers.setdefault(answer["id"], queue.Queue())
            box.put(answer)

    def start(self, op: str, **args: Any) -> "queue.Queue":
        request_id = next(self._ids)
        with self._lock:
            box = self._answers.setdefault(request_id, queue.Queue())
            self.proc.stdin.write((json.dumps({"id": request_id, "op": op, **args}) + "\n").encode())
            self.proc.stdin.flush()
        return box

    def call(self, op: str, timeout: float = 30, **args: Any) -> Any:
        return self.result(self.start(op, **args), timeout)

    @staticmethod
    def result(box: "queue.Queue", timeout: float = 30) -> Any:
        answer = box.get(timeout=timeout)
        if not answer["ok"]:
            raise PeerError(answer["code"], answer["details"])
        return answer["result"]

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc.stdout.close()
        self.proc.stderr.close()


class PeerError(Exception):
    def __init__(self, code: int, details: str):
        super().__init__(f"[{code}] {details}")
        self.code = code
        self.details = details


@pytest.fixture(scope="session")
def bridge(tmp_path_factory):
    server = BridgeProcess("--heartbeat-ms", "200", "--max-value-bytes", "4000000", log_dir=tmp_path_factory.mktemp("logs"))
    yield server
    assert server.stop() == 0, f"dspex-bridge exited non-zero; log:\n{server.read_log()}"


@pytest.fixture
def start_bridge(tmp_path):
    """Starts extra servers (own flags, restarts); each is stopped and checked at teardown."""
    started: List[BridgeProcess] = []

    def start(*args: str, port: int = 0) -> BridgeProcess:
        server = BridgeProcess(*args, port=port, log_dir=tmp_path)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.returncode is None:
            assert server.stop() == 0, f"dspex-bridge exited non-zero; log:\n{server.read_log()}"


@pytest.fixture(scope="session")
def client(bridge):
    with dspex_bridge.connect(bridge.address, timeout=10) as connected:
        yield connected


@pytest.fixture
def ctx(client):
    """A fresh session per test (cleaned up afterwards)."""
    session = client.session(f"test-{uuid.uuid4().hex[:10]}")
    yield session
    try:
        session.cleanup()
    except dspex_bridge.BridgeError:
        pass


@pytest.fixture(scope="session")
def peer(bridge):
    ts = TsPeer(bridge.address)
    yield ts
    ts.close()
