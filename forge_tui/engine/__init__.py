"""Inference: the KnowledgeEngine interface and its llama.cpp implementation."""
