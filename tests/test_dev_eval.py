"""The development-set evaluation gate: drive.py against a freshly started server.

Runs only where ../shared/eval is present (a developer's or CI's machine); a user's clone
has no evaluation data. Fails below 90% correct or on any leak, so a regression cannot land.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .conftest import SHARED_EVAL, free_port
from .server_process import ServerProcess

SECRET = "dev-eval-identity-secret"
SETS = [("dev-store.json", "dev-cases.jsonl"), ("dev2-store.json", "dev2-cases.jsonl")]


@pytest.mark.skipif(not (SHARED_EVAL / "drive.py").exists(), reason="no ../shared/eval here")
@pytest.mark.parametrize("store,cases", SETS)
def test_development_set(tmp_path, store, cases):
    port, zendesk_port = free_port(), free_port()
    # drive.py's recording Zendesk stand-in checks that each escalated case made exactly one ticket.
    server = ServerProcess(SHARED_EVAL / store, port, f"sqlite+aiosqlite:///{tmp_path}/eval.db", env={
        "SHOPDESK_IDENTITY_SECRET": SECRET,
        "SHOPDESK_ZENDESK_URL": f"http://127.0.0.1:{zendesk_port}",
        "SHOPDESK_ZENDESK_EMAIL": "shopdesk@example.com", "SHOPDESK_ZENDESK_TOKEN": "eval-token",
    }).start()
    try:
        out = subprocess.run(
            [sys.executable, str(SHARED_EVAL / "drive.py"), "--url", f"ws://127.0.0.1:{port}/ws",
             "--cases", str(SHARED_EVAL / cases), "--secret", SECRET, "--concurrency", "4",
             "--zendesk-port", str(zendesk_port)],
            check=False, capture_output=True, text=True, timeout=600,  # the summary tells
        )
    finally:
        server.stop()
    summary = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-2000:]
    print(summary)
    found = re.search(r"cases (\d+) correct (\d+) .*\| leaks (\d+)", summary)
    assert found, out.stdout[-3000:] + out.stderr[-2000:]
    total, correct, leaks = map(int, found.groups())
    assert leaks == 0, out.stdout[-4000:]
    assert correct / total >= 0.90, out.stdout[-6000:]
