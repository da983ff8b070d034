"""Crash safety: SIGKILL a real Forge session mid-reply; nothing that was shown is lost.

The next start lists the conversation, and the cut-off reply is there with status
``interrupted``. The reply's text is shown only once it is written, so everything
the driver printed as shown (``ReplyChunk``) must be in the store.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from forge_tui.store.server import EmbeddedServer

HERE = Path(__file__).parent


def forge_cli(data_dir, *args):
    out = subprocess.run([sys.executable, "-m", "forge_tui", "--data-dir", str(data_dir), *args],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.slow
def test_sigkill_mid_reply_loses_nothing_shown(tmp_path):
    data_dir = tmp_path / "forge-data"
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "headless_driver.py"), str(data_dir),
         "Write a very long story about a lighthouse keeper, with many chapters."],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(HERE.parents[1])},
    )
    shown = []
    first_chunk_at = None
    try:
        for line in proc.stdout:
            event = json.loads(line)
            assert event["event"] != "error", event
            assert event["event"] != "finished", "the reply finished before the kill; make it longer"
            if event["event"] == "chunk":
                shown.append(event["text"])
                first_chunk_at = first_chunk_at or time.monotonic()
                if time.monotonic() - first_chunk_at > 1.5:
                    break
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

        sessions = json.loads(forge_cli(data_dir, "sessions", "--json"))
        assert len(sessions) == 1
        shown_conv = json.loads(forge_cli(data_dir, "show", sessions[0]["id"], "--json"))
        user, reply = shown_conv["turns"]
        assert user["role"] == "user" and user["content"].startswith("Write a very long story")
        assert reply["status"] == "interrupted"
        assert reply["content"], "the partial reply was lost"
        assert reply["content"].startswith("".join(shown)), "text that was shown is missing from the store"
    finally:
        if proc.poll() is None:
            proc.kill()
        EmbeddedServer(data_dir / "mongo", data_dir / "server.json", data_dir / "logs").stop()
