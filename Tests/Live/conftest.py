"""Live tests: a real `tributary serve` on loopback with the real default model and demo adapters,
driven by the official `openai` Python client.

Run by Scripts/test after the Swift suites (needs .build/release/tributary, Models/cache)."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

import httpx
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.path.join(ROOT, ".build", "release", "tributary")
MODEL = os.path.join(ROOT, "Models", "cache", "SmolLM2-135M-Instruct.Q4_1.gguf")
ADAPTERS = os.path.join(ROOT, "Models", "cache", "adapters")
MODEL_NAME = "SmolLM2-135M-Instruct"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_key(keys_file: str, role: str, tenant: str, adapters: str | None = None) -> str:
    args = [BINARY, "keys", "add", "--keys", keys_file, "--role", role, "--tenant", tenant]
    if adapters:
        args += ["--adapters", adapters]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


class Server:
    """A `tributary serve` process with its own keys, ledger and adapter folder."""

    def __init__(self, directory: str, extra_args: list[str] | None = None, port: int | None = None,
                 ledger: str | None = None, source: str = "live", keys_file: str | None = None, name: str = "server"):
        self.directory = directory
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.keys_file = keys_file or os.path.join(directory, "keys.json")
        self.ledger = ledger or os.path.join(directory, "ledger.db")
        self.source = source
        self.extra_args = extra_args or []
        self.process: subprocess.Popen | None = None
        self.log_path = os.path.join(directory, f"{name}.log")

    def start(self, timeout: float = 60) -> "Server":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [BINARY, "serve", "--model", MODEL, "--model-name", MODEL_NAME, "--adapters", ADAPTERS,
             "--keys", self.keys_file, "--ledger", self.ledger, "--ledger-source", self.source,
             "--ledger-key", os.path.join(self.directory, f"{self.source}.key"), "--port", str(self.port)]
            + self.extra_args,
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited early:\n" + open(self.log_path).read())
            try:
                if httpx.get(self.base_url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start:\n" + open(self.log_path).read())

    def stop(self, sig=signal.SIGTERM, timeout: float = 60) -> int:
        if not self.process or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def kill(self):
        self.stop(signal.SIGKILL)

    def tributary(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([BINARY, *args], capture_output=True, text=True)

    def metric(self, name: str, labels: str = "") -> float:
        text = httpx.get(self.base_url + "/metrics").text
        for line in text.splitlines():
            if line.startswith(name + labels + " ") or (not labels and line.startswith(name + " ")):
                return float(line.split()[-1])
        return 0.0


@pytest.fixture(scope="session")
def server():
    directory = tempfile.mkdtemp(prefix="tributary-live-")
    srv = Server(directory)
    srv.keys = {role: make_key(srv.keys_file, role, f"tenant-{role}") for role in ["consumer", "creator", "admin", "billing"]}
    srv.start()
    yield srv
    assert srv.stop() == 0, open(srv.log_path).read()[-3000:]
    verify = srv.tributary("ledger", "verify", "--ledger", srv.ledger)
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.fixture()
def client(server):
    from openai import OpenAI
    return OpenAI(base_url=server.base_url + "/v1", api_key=server.keys["consumer"], max_retries=0, timeout=120)
