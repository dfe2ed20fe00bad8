"""The SageMaker inference container contract over HTTP: ``GET /ping``, ``POST /invocations``.

Loads a model the way the framework container does — ``model.tar.gz`` unpacked into a model directory,
``inference.py`` from the model's source directory — and serves it on loopback with the standard
library's threading HTTP server. Client mistakes (a body that does not fit the input schema, an
unsupported content type) are 4xx with a JSON message naming the problem; the server keeps serving.
"""

from __future__ import annotations

import importlib.util
import io
import json
import socket
import sys
import tarfile
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from sagelane.environ import thread_environment

MAX_BODY = 6 * 1024 * 1024  # SageMaker's real-time payload limit


@dataclass
class LoadedModel:
    module: ModuleType  # the model's inference.py
    model: Any  # what model_fn returned
    name: str

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        data = self.module.input_fn(body, content_type)
        prediction = self.module.predict_fn(data, self.model)
        payload, returned_type = self.module.output_fn(prediction, accept)
        return (payload if isinstance(payload, bytes) else str(payload).encode()), returned_type


def load(
    model_dir: Path, code_dir: Path, name: str = "model", environment: dict[str, str] | None = None
) -> LoadedModel:
    """Import ``code_dir/inference.py`` (its folder on the path, as the container does) and call model_fn,
    with the container definition's ``environment`` set."""
    path = code_dir / "inference.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the model's source directory has no inference.py")
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    spec = importlib.util.spec_from_file_location(f"sagelane_inference_{abs(hash(str(code_dir)))}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # the container's environment while its code loads (what model_fn reads), in this thread only
    with thread_environment(environment or {}):
        spec.loader.exec_module(module)
        model = module.model_fn(str(model_dir))
    return LoadedModel(module=module, model=model, name=name)


def unpack(archive: bytes, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")
    return folder


def make_server(loaded: LoadedModel, *, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    client_errors = tuple(getattr(loaded.module, name) for name in ("InputError",) if hasattr(loaded.module, name)) or (
        ValueError,
    )

    class Handler(BaseHTTPRequestHandler):
        server_version = "sagelane-serve"
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body go out as two writes: without this, Nagle's algorithm and the client's
            # delayed ACK hold every keep-alive response for ~40 ms
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: HTTPStatus, message: str) -> None:
            self._send(status, json.dumps({"error": message, "status": status.value}).encode())

        def do_GET(self) -> None:
            if self.path == "/ping":
                self._send(HTTPStatus.OK, b'{"status": "healthy"}')
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}: use GET /ping or POST /invocations")

        def do_POST(self) -> None:
            if self.path != "/invocations":
                self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}: use POST /invocations")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._error(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is {length:,} bytes; the limit is {MAX_BODY:,}"
                )
                self.rfile.read(length)
                return
            body = self.rfile.read(length)
            content_type = self.headers.get("Content-Type") or "application/json"
            accept = self.headers.get("Accept") or "application/json"
            try:
                payload, returned_type = loaded.invoke(body, content_type, accept)
            except client_errors as exc:
                status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE if "content type" in str(exc) else HTTPStatus.BAD_REQUEST
                self._error(status, str(exc))
                return
            except Exception as exc:
                self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(exc).__name__}: {exc}")
                return
            self._send(HTTPStatus.OK, payload, returned_type)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_thread(loaded: LoadedModel, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    server = make_server(loaded, port=port)
    threading.Thread(target=server.serve_forever, name="sagelane-serve", daemon=True).start()
    host, bound = server.server_address[:2]
    return server, f"http://{host!s}:{bound}"
