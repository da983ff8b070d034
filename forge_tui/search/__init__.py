"""Local embeddings, hybrid search, retrieval into sessions, embedding-model migration.

Nothing is imported here (torch and sentence-transformers take seconds to
import). The session/UI layer uses:

- ``embedder.Embedder(spec)`` with ``start_loading()``, ``ready``, ``wait()``,
  ``error``, ``embed(texts)``, ``name``, ``dim``;
- ``pipeline.EmbeddingPipeline(store, embedder)`` with
  ``on_turn_persisted(message_id)`` and ``embed_pending(limit=None, full_scan=False)``;
- ``hybrid.SearchService(store, embedder)`` with ``search(query, project=None, limit=10)``
  (or ``search_with_notes`` for the one-line notes), ``warm_up()``, ``refresh(full)``; hybrid
  results are the fused order seen through turn windows (``windows``: neighbours' scores and
  dates the query names) and moved by ``rerank.CONTEXT_BOOST`` (``boost=False``: the fused
  order alone), or with ``rerank=True`` reordered by ``rerank`` (a small packaged logistic model
  learnt from Forge's own memory corpus; off by default);
- ``retrieval.retrieve_context(store, embedder, project, opening_text, budget_tokens,
  sandboxed_projects, registry=None, count_tokens=None, search=None)``;
- ``migration.compare_models`` / ``reembed`` / ``embedding_status`` (the CLI's engine).
"""
