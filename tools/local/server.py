"""The loopback HTTP servers of the local runtime (cells and the edge)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class HttpEndpoint:
    """Something that serves HTTP on 127.0.0.1 (port 0 = any free port)."""

    _server: LoopbackServer

    def _listen(self, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = LoopbackServer(("127.0.0.1", port), handler)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
