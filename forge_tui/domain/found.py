"""A model found on this machine (by ``engine.discovery``), as the model picker shows it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Found:
    """A model found on this machine, with what a models.toml entry for it needs."""

    name: str  # a suggested entry name
    source: str  # ollama | lm-studio | hf-cache | server:<port>
    path: str = ""  # a GGUF file (kind llama)
    base_url: str = ""  # a server (kind openai)
    model: str = ""  # the server's model id
    structured: str = ""
    size: int = 0

    @property
    def kind(self) -> str:
        return "openai" if self.base_url else "llama"

    def entry(self) -> dict[str, str | int]:
        """The models.toml keys for this find."""
        if self.base_url:
            return {"kind": "openai", "base_url": self.base_url, "model": self.model, "structured": self.structured,
                    "description": f"found: {self.source}"}
        return {"path": self.path, "description": f"found: {self.source}"}
