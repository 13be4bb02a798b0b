"""Two server replicas writing to one PostgreSQL ledger (Scripts/test starts PostgreSQL)."""
import concurrent.futures
import json
import os
import subprocess
import tempfile
import uuid

import httpx

from conftest import BINARY, MODEL_NAME, Server, make_key


def test_two_replicas_share_one_postgres_ledger():
    url = os.environ.get("TRIBUTARY_TEST_POSTGRES_URL")
    assert url, "TRIBUTARY_TEST_POSTGRES_URL must be set (Scripts/test starts PostgreSQL)"
    run = uuid.uuid4().hex[:8]
    directory = tempfile.mkdtemp(prefix="tributary-replicas-")
    keys_file = os.path.join(directory, "keys.json")
    key = make_key(keys_file, "consumer", "replicated")
    replicas = [Server(directory, ledger=url, source=f"replica-{name}-{run}", keys_file=keys_file, name=name) for name in "ab"]
    for server in replicas:
        server.start()
    try:
        def call(index):
            server = replicas[index % 2]
            response = httpx.post(server.base_url + "/v1/completions", timeout=60, headers={"Authorization": "Bearer " + key},
                                  json={"model": f"demo-{index % 8}", "prompt": f"replica request {index}", "max_tokens": 3, "temperature": 0})
            assert response.status_code == 200, response.text
            return response.json()["id"]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(call, range(40)))
    finally:
        for server in replicas:
            assert server.stop() == 0, open(server.log_path).read()[-2000:]
    export = subprocess.run([BINARY, "ledger", "export", "--ledger", url, "--format", "jsonl"], capture_output=True, text=True)
    assert export.returncode == 0, export.stderr
    records = [json.loads(line) for line in export.stdout.splitlines()]
    records = [r for r in records if r["source"].endswith(run)]
    stored = [r["event_id"] for r in records]
    assert len(stored) == len(set(stored)) == 40
    assert set(stored) == set(ids)
    assert {r["source"] for r in records} == {f"replica-a-{run}", f"replica-b-{run}"}
    verify = subprocess.run([BINARY, "ledger", "verify", "--ledger", url], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    report = subprocess.run([BINARY, "ledger", "report", "--ledger", url, "--by", "adapter", "--price-per-1k-tokens", "1", "--format", "json"],
                            capture_output=True, text=True)
    assert report.returncode == 0, report.stderr
