"""LoRA adapters trained on the user's own history: dataset per task, held-out split,
peft training on CPU (or CUDA), a GGUF adapter llama.cpp loads, registration in models.toml,
and evaluation of base vs adapter. Needs the optional ``[train]`` extra (torch, peft, gguf)."""
