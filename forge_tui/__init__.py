"""Forge: a local-first terminal workbench for long-running work with an LLM."""

__version__ = "0.1.0"
