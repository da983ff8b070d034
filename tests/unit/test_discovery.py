"""Finding local models: Ollama manifests → GGUF blobs, LM Studio and HF cache files, servers
on loopback ports; `forge models` and `forge models add` writing entries."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from forge_tui.cli import main
from forge_tui.config import ConfigError, load_models, resolve_paths
from forge_tui.engine import discovery
from forge_tui.models_file import add_model


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("OLLAMA_MODELS", "HF_HOME", "HF_HUB_CACHE", "FORGE_MODELS"):
        monkeypatch.delenv(var, raising=False)
    ollama = tmp_path / ".ollama" / "models"
    (ollama / "blobs").mkdir(parents=True)
    (ollama / "blobs" / "sha256-abc").write_bytes(b"GGUF....")
    manifest = ollama / "manifests" / "registry.ollama.ai" / "library" / "qwen2.5" / "7b"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"layers": [
        {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:zzz"},
        {"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:abc"}]}))
    snap = tmp_path / ".cache" / "huggingface" / "hub" / "models--org--m" / "snapshots" / "r1"
    snap.mkdir(parents=True)
    (snap / "Tiny-Chat.Q4_K_M.gguf").write_bytes(b"GGUF")
    (snap / "mmproj-f16.gguf").write_bytes(b"GGUF")
    lms = tmp_path / ".lmstudio" / "models" / "pub" / "repo"
    lms.mkdir(parents=True)
    (lms / "Other-7B.gguf").write_bytes(b"GGUF")
    return tmp_path


class _Models(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "llama3.2:1b"}]}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        return None


def test_files_are_found_in_each_store(home):
    found = {f.source: f for f in discovery.discover(servers=False)}
    assert found["ollama"].name == "qwen2-5-7b" and found["ollama"].path.endswith("blobs/sha256-abc")
    assert found["hf-cache"].name == "tiny-chat-q4-k-m" and found["lm-studio"].name == "other-7b"
    assert len(found) == 3  # the vision projector is skipped


def test_a_server_on_a_local_port_lists_its_models():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        [found] = discovery.probe_server(server.server_address[1])
    finally:
        server.shutdown()
    assert found.kind == "openai" and found.model == "llama3.2:1b" and found.base_url.startswith("http://127.0.0.1:")
    assert discovery.probe_server(9) == []  # nothing answers: no find, no error


def test_add_model_appends_validates_and_never_touches_the_repository_file(home, tmp_path):
    paths = resolve_paths(str(tmp_path / "data"))
    target, config = add_model(paths, "box", {"kind": "openai", "base_url": "http://h:8000/v1", "model": "q"})
    assert target == paths.config_dir / "models.toml" and config.get("box").remote_model == "q"
    assert "smollm2" in load_models(target).models  # started from the repository's entries
    before = target.read_text()
    with pytest.raises(ConfigError, match="already has"):
        add_model(paths, "box", {"path": "x.gguf"})
    with pytest.raises(ConfigError, match="needs `base_url`"):
        add_model(paths, "bad", {"kind": "openai"})
    assert target.read_text() == before


def test_models_cli_lists_and_adds_a_find(home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FORGE_DATA_DIR", str(tmp_path / "data"))
    assert main(["models", "--no-probe", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in listing["configured"]} >= {"smollm2"}
    assert {f["name"] for f in listing["found"]} == {"qwen2-5-7b", "tiny-chat-q4-k-m", "other-7b"}
    assert main(["models", "add", "other-7b"]) == 0
    assert "Added [models.other-7b]" in capsys.readouterr().out
    assert main(["models", "add", "nothing-like-it"]) == 2
    assert "nothing found named" in capsys.readouterr().err
    assert main(["models", "--no-probe"]) == 0
    out = capsys.readouterr().out
    assert "other-7b" in out.split("Found on this machine")[0]  # now configured, no longer a find
