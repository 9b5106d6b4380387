"""A prediction server that embeds the sparsegnn runtime: numpy + numba + the standard library.

    python examples/serve/server.py model.sgnn --port 8000
    python examples/serve/server.py gowalla.sgnn --port 8000     # a recommender's retrieval index

A recommender answers GET /recommend?user=17&k=20 (or ``users=1,2,3``) with
``{"users": [...], "items": [[...]], "scores": [[...]]}``: each user's best unseen items, best
first (id -1 where fewer than k are left); a user id or k out of range, or anything but
decimal integers, gets 400.

POST /predict with JSON ``{"x": [[...], ...], "edge_index": [[src...], [dst...]]}`` (and
``"batch"`` for graph-level models) returns ``{"logits": [[...]], "predictions": [...]}``.
GET /health returns the model's inputs and outputs. Every request gets a status: a malformed one
400 with the reason (node ids must be integers, features numbers; no other keys), an oversized
one 413, and anything unexpected 500; the runtime validates everything before its kernels run,
so no request can crash the server. ``--max-body-bytes`` bounds a request (JSON parsing takes
tens of bytes of memory per byte of body).
"""

from __future__ import annotations

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np

from sparsegnn.artifact import RETRIEVAL, artifact_kind
from sparsegnn.runtime import InputError, Recommender, Session

MAX_BODY_BYTES = 8 * 1024 * 1024
KEYS = {"x", "edge_index", "batch"}


class BadRequest(ValueError):
    """The request does not describe a graph the model can take."""


def _array(request: dict, key: str, types: tuple, dtype) -> np.ndarray:
    """``request[key]``, nested lists of values of exactly ``types`` (JSON true is not 1, and a
    float where an id belongs is refused, not truncated), as a numpy array of ``dtype``."""
    stack = [request[key]]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif type(item) not in types:
            expected = "integers" if types == (int,) else "numbers"
            raise BadRequest(f"{key} must hold {expected}, found {type(item).__name__}")
    try:
        return np.asarray(request[key], dtype=dtype)
    except OverflowError:  # an integer beyond 64 bits
        raise BadRequest(f"{key} holds an integer out of range") from None
    except ValueError as exc:  # ragged nesting
        raise BadRequest(f"{key}: {exc}") from None


class JsonHandler(BaseHTTPRequestHandler):
    """Replies are JSON; the console is kept for errors."""

    def _reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def make_handler(session: Session, max_body_bytes: int = MAX_BODY_BYTES):
    class Handler(JsonHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            if self.path != "/health":
                return self._reply(404, {"error": "unknown path; use GET /health or POST /predict"})
            return self._reply(200, {
                "inputs": [vars(i) | {"shape": list(i.shape)} for i in session.inputs],
                "outputs": [vars(o) | {"shape": list(o.shape)} for o in session.outputs]})

        def do_POST(self):  # noqa: N802
            try:
                self._predict()
            except Exception as exc:  # never drop a connection without an answer
                self._reply(500, {"error": f"internal error ({type(exc).__name__})"})

        def _predict(self) -> None:
            if self.path != "/predict":
                return self._reply(404, {"error": "unknown path; use POST /predict"})
            length = self.headers.get("Content-Length", "")
            if not length.isdigit() or int(length) == 0:
                return self._reply(400, {"error": "a body with a Content-Length is required"})
            if int(length) > max_body_bytes:
                self.close_connection = True  # the unread body is not consumed
                return self._reply(413, {"error": f"body must be at most {max_body_bytes} "
                                                  f"bytes"})
            try:
                request = json.loads(self.rfile.read(int(length)))
                if not isinstance(request, dict) or not {"x", "edge_index"} <= set(request) \
                        or set(request) - KEYS:
                    raise BadRequest("the body must be an object with x, edge_index and "
                                     "optionally batch, nothing else")
                x = _array(request, "x", (int, float), np.float32)
                edge_index = _array(request, "edge_index", (int,), np.int64)
                batch = request.get("batch")
                batch = None if batch is None else _array(request, "batch", (int,), np.int64)
                logits = session.run(x, edge_index.reshape(2, -1) if edge_index.size == 0
                                     else edge_index, batch)
            except (BadRequest, InputError, json.JSONDecodeError, UnicodeDecodeError,
                    RecursionError) as exc:
                return self._reply(400, {"error": f"{type(exc).__name__}: {exc}"})
            except MemoryError:
                return self._reply(413, {"error": "the request is too large for this server"})
            return self._reply(200, {"logits": logits.tolist(),
                                     "predictions": logits.argmax(axis=1).tolist()})

    return Handler


MAX_USERS_PER_REQUEST = 1024


def _integers(values: list[str], name: str) -> list[int]:
    """Decimal integers (no sign, no spaces) from query-string values, comma-separated."""
    items = [part for value in values for part in value.split(",")]
    if not items or not all(part.isdigit() and part.isascii() and len(part) <= 18 for part in items):
        raise BadRequest(f"{name} must be comma-separated non-negative decimal integers")
    return [int(part) for part in items]


def make_recommend_handler(recommender: Recommender):
    class Handler(JsonHandler):
        def do_GET(self):  # noqa: N802
            try:
                self._get()
            except Exception as exc:  # never drop a connection without an answer
                self._reply(500, {"error": f"internal error ({type(exc).__name__})"})

        def _get(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/health":
                return self._reply(200, {"users": recommender.num_users,
                                         "items": recommender.num_items})
            if url.path != "/recommend":
                return self._reply(404, {"error": "unknown path; use GET /recommend?user=ID&k=20"
                                                  " or GET /health"})
            try:
                query = parse_qs(url.query, keep_blank_values=True, strict_parsing=bool(url.query),
                                 max_num_fields=16)
                if set(query) - {"user", "users", "k"} or not {"user", "users"} & set(query):
                    raise BadRequest("give user (or users) and optionally k, nothing else")
                users = _integers(query.get("user", []) + query.get("users", []), "user")
                if len(users) > MAX_USERS_PER_REQUEST:
                    raise BadRequest(f"at most {MAX_USERS_PER_REQUEST} users per request")
                k = _integers(query["k"], "k")[0] if "k" in query else 20
                items, scores = recommender.recommend(users, k)
            except (BadRequest, InputError, ValueError) as exc:
                return self._reply(400, {"error": f"{type(exc).__name__}: {exc}"})
            return self._reply(200, {"users": users, "items": items.tolist(),
                                     "scores": [[float(v) if np.isfinite(v) else None for v in row]
                                                for row in scores]})

    return Handler


def serve(artifact: str, host: str = "127.0.0.1", port: int = 8000,
          max_body_bytes: int = MAX_BODY_BYTES) -> ThreadingHTTPServer:
    """Create the server (not yet serving); ``port=0`` picks a free port. A retrieval index
    is served as a recommender, a model artifact for prediction."""
    if artifact_kind(artifact) == RETRIEVAL:
        return ThreadingHTTPServer((host, port), make_recommend_handler(Recommender(artifact)))
    return ThreadingHTTPServer((host, port), make_handler(Session(artifact), max_body_bytes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES)
    args = parser.parse_args(argv)
    server = serve(args.artifact, args.host, args.port, args.max_body_bytes)
    print(f"serving {args.artifact} on http://{args.host}:{server.server_address[1]}",
          file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
