"""Starts a real `dspex-bridge serve` process (the node CLI) on 127.0.0.1, port 0 by default.

Shared by the pytest fixtures and bench/bench_client.py.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Optional

PACKAGE_DIR = Path(__file__).resolve().parent.parent.parent
BRIDGE_BIN = PACKAGE_DIR / "bin" / "dspex-bridge.js"
TWO_BRIDGES = Path(__file__).resolve().parent / "two_bridges.mjs"

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


class TwoBridges:
    """Bridges A and B in one node process on one shared store (tests/two_bridges.mjs).
    `stop("a")` closes A at once; `close()` ends the process and returns its exit code."""

    def __init__(self, log_dir: Optional[Path] = None):
        self.log_path = (log_dir or Path(os.environ.get("TMPDIR", "/tmp"))) / f"two-bridges-{uuid.uuid4().hex[:8]}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["node", str(TWO_BRIDGES)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, cwd=TWO_BRIDGES.parent)
        first = self._answer(20)
        self.a, self.b = first["a"], first["b"]

    def _answer(self, timeout: float) -> dict:
        lines: "queue.Queue[bytes]" = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            raise RuntimeError(f"two_bridges.mjs did not answer within {timeout} s; log: {self.log_path}")
        if not line:
            raise RuntimeError(f"two_bridges.mjs exited; log:\n{self.read_log()}")
        return json.loads(line)

    def stop(self, name: str) -> None:
        self.proc.stdin.write(f"stop {name}\n".encode())
        self.proc.stdin.flush()
        answer = self._answer(15)
        if answer != {"stopped": name}:
            raise RuntimeError(f"two_bridges.mjs answered {answer!r} to stop {name}")

    def read_log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"two_bridges.mjs did not exit within {timeout} s of end of input")
        self._log.close()
        self.proc.stdout.close()
        return self.proc.returncode
