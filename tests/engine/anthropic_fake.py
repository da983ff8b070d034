"""A stand-in for the Anthropic Messages API, in tests only: a stdlib HTTP server that
speaks the streaming event protocol (message_start, content_block_start/delta/stop, ping,
message_delta, message_stop, error) and answers 401/429/529 on request."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


class FakeClaude(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"  # ok | midway_error | 401 | 429 | 529 | slow
        self.pieces = ["Hello", " from", " Claude", "."]
        self.usage = {"input_tokens": 12, "cache_read_input_tokens": 30, "cache_creation_input_tokens": 5}
        self.requests: list[dict] = []  # {"body": ..., "headers": ...}
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request, client_address):
        """A client that hung up (a cancelled stream) is expected here, not an error."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: FakeClaude

    def log_message(self, *args):  # keep test output quiet
        return None

    def _status(self, code: int, kind: str, message: str) -> None:
        body = json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append({"body": body, "headers": dict(self.headers)})
        mode = self.server.mode
        if mode == "401":
            return self._status(401, "authentication_error", "invalid x-api-key")
        if mode == "429":
            return self._status(429, "rate_limit_error", "Number of requests has exceeded your rate limit")
        if mode == "529":
            return self._status(529, "overloaded_error", "Overloaded")
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        w = self.wfile
        usage = dict(self.server.usage, output_tokens=1)
        w.write(_event("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": body.get("model"), "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": usage}}))
        w.write(_event("content_block_start", {"type": "content_block_start", "index": 0,
                                               "content_block": {"type": "text", "text": ""}}))
        w.write(_event("ping", {"type": "ping"}))
        for i, piece in enumerate(self.server.pieces):
            w.write(_event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta", "text": piece}}))
            w.flush()
            if mode == "midway_error" and i == 1:
                w.write(_event("error", {"type": "error", "error": {"type": "overloaded_error",
                                                                   "message": "Overloaded"}}))
                w.flush()
                return
            if mode == "slow":
                import time

                time.sleep(0.3)
        w.write(_event("content_block_stop", {"type": "content_block_stop", "index": 0}))
        w.write(_event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                                           "stop_sequence": None},
                                         "usage": {"output_tokens": len(self.server.pieces)}}))
        w.write(_event("message_stop", {"type": "message_stop"}))
        w.flush()
