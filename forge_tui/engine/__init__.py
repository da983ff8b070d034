"""Inference: the KnowledgeEngine interface and its llama.cpp implementation.

``OMP_WAIT_POLICY=PASSIVE`` is set here, before any submodule imports llama_cpp
(libgomp reads it once, when the library loads): llama.cpp's OpenMP workers
otherwise spin at every graph barrier, and on a machine whose cores are also
busy elsewhere (the UI, torch, another process) a descheduled spinner stalls
them all — measured ~10× slower with 2 threads on a loaded 2-core box.
A value the user already set is respected.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
