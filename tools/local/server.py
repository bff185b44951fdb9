"""The loopback HTTP servers of the local runtime (cells and the edge)."""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Set by the server itself (or meaningless once the body is buffered), never copied from an answer.
_OWN_HEADERS = ("content-length", "connection", "transfer-encoding", "server", "date")

# exchange(method, path, query, headers, body, client_ip) -> (status, headers, body); status None
# means: answer nothing and drop the connection.
Exchange = Callable[[str, str, str, list, bytes, str], tuple]


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def exchange_handler(exchange: Exchange, name: str, accept: Callable[[], bool] = lambda: True) -> type[BaseHTTPRequestHandler]:
    """A request handler that buffers the request, calls `exchange` and writes its answer.
    While `accept()` is false, connections are dropped without an answer (an unreachable host)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = name

        def log_message(self, *args):  # no request logging to the console
            pass

        def handle(self):
            if accept():
                super().handle()
            else:
                self.close_connection = True

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            status, headers, out = exchange(self.command, path, query, list(self.headers.items()), body, self.client_address[0])
            if status is None:
                self.close_connection = True
                return
            self.send_response(status)
            for k, v in headers:
                if k.lower() not in _OWN_HEADERS:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    return Handler


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
