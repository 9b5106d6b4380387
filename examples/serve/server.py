"""A prediction server that embeds the sparsegnn runtime: numpy + numba + the standard library.

    python examples/serve/server.py model.sgnn --port 8000

POST /predict with JSON ``{"x": [[...], ...], "edge_index": [[src...], [dst...]]}`` (and
``"batch"`` for graph-level models) returns ``{"logits": [[...]], "predictions": [...]}``.
GET /health returns the model's inputs and outputs. Bad input gets HTTP 400 with the reason;
the runtime validates everything before its kernels run, so no request can crash the server.
"""

from __future__ import annotations

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from sparsegnn.runtime import InputError, Session

MAX_BODY_BYTES = 64 * 1024 * 1024


def make_handler(session: Session):
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep the console for errors
            pass

        def do_GET(self):  # noqa: N802 (http.server's naming)
            if self.path != "/health":
                return self._reply(404, {"error": "unknown path; use GET /health or POST /predict"})
            return self._reply(200, {
                "inputs": [vars(i) | {"shape": list(i.shape)} for i in session.inputs],
                "outputs": [vars(o) | {"shape": list(o.shape)} for o in session.outputs]})

        def do_POST(self):  # noqa: N802
            if self.path != "/predict":
                return self._reply(404, {"error": "unknown path; use POST /predict"})
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY_BYTES:
                return self._reply(400, {"error": f"body must be 1..{MAX_BODY_BYTES} bytes"})
            try:
                request = json.loads(self.rfile.read(length))
                x = np.asarray(request["x"], dtype=np.float32)
                edge_index = np.asarray(request["edge_index"], dtype=np.int64)
                batch = request.get("batch")
                batch = None if batch is None else np.asarray(batch, dtype=np.int64)
                logits = session.run(x, edge_index.reshape(2, -1) if edge_index.size == 0
                                     else edge_index, batch)
            except (KeyError, TypeError, ValueError, json.JSONDecodeError, InputError) as exc:
                return self._reply(400, {"error": f"{type(exc).__name__}: {exc}"})
            return self._reply(200, {"logits": logits.tolist(),
                                     "predictions": logits.argmax(axis=1).tolist()})

    return Handler


def serve(artifact: str, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """Create the server (not yet serving); ``port=0`` picks a free port."""
    return ThreadingHTTPServer((host, port), make_handler(Session(artifact)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    server = serve(args.artifact, args.host, args.port)
    print(f"serving {args.artifact} on http://{args.host}:{server.server_address[1]}",
          file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
