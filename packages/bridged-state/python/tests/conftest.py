"""Fixtures: a real dspex-bridge server (node CLI) on 127.0.0.1:0, and a TypeScript peer."""

from __future__ import annotations

import itertools
import json
import queue
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
TS_PEER = HERE / "ts_peer.mjs"
sys.path.insert(0, str(PYTHON_DIR))
sys.path.insert(0, str(HERE))

import dspex_bridge  # noqa: E402

from bridge_process import BridgeProcess, TwoBridges  # noqa: E402


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


@pytest.fixture
def two_bridges(tmp_path):
    """Bridges A and B on one shared store (tests/two_bridges.mjs), stopped at teardown."""
    bridges = TwoBridges(log_dir=tmp_path)
    yield bridges
    assert bridges.close() == 0, f"two_bridges.mjs exited non-zero; log:\n{bridges.read_log()}"


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
