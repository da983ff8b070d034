"""Route llama.cpp's own log lines into Python logging.

llama.cpp writes some messages to file descriptor 2 even with ``verbose=False``
(e.g. Gemma's "using full-size SWA cache"); in the full-screen app stderr is the
terminal Textual draws on, so a stray line would scribble over the screen.
"""

from __future__ import annotations

import ctypes
import logging

import llama_cpp

log = logging.getLogger("llama.cpp")



@llama_cpp.llama_log_callback
def _forward(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    message = text.decode("utf-8", "replace").rstrip()
    if message:
        # llama.cpp tags routine notes as WARN/ERROR (e.g. Gemma's SWA cache); real failures
        # surface as exceptions from llama-cpp-python, so its own lines are debug detail
        log.debug("[%d] %s", level, message)


_installed = False


def install() -> None:
    """Idempotent; keeps the ctypes callback alive for the life of the process."""
    llama_cpp.llama_log_set(_forward, ctypes.c_void_p(0))
