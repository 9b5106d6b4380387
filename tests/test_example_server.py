"""The example app (examples/serve) in an environment where torch, scipy and onnx are blocked."""

import contextlib
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from sparsegnn import data
from sparsegnn.export import export_artifact
from sparsegnn.nn.recipes import make_model
from sparsegnn.runtime import Session

ROOT = Path(__file__).parents[1]
LAUNCH = """
import sys
for name in ("torch", "scipy", "onnx", "onnxruntime", "torch_geometric"):
    sys.modules[name] = None
sys.path.insert(0, {folder!r})
import server
srv = server.serve({artifact!r}, port=0)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


@contextlib.contextmanager
def _serving(artifact):
    """The example server on ``artifact`` in a child process; yields its base URL."""
    script = LAUNCH.format(folder=str(ROOT / "examples" / "serve"), artifact=str(artifact))
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = process.stdout.readline()
        assert line.strip().isdigit(), process.stderr.read()
        yield f"http://127.0.0.1:{int(line)}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def running_server(tmp_path):
    dataset = data.load("synthetic-graphs")
    torch.manual_seed(0)
    artifact = export_artifact(make_model("gin", dataset).eval(), tmp_path / "gin.sgnn")
    with _serving(artifact) as url:
        yield url, artifact, dataset


def _post(url: str, payload) -> tuple[int, dict]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(url + "/predict", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_server_predicts_like_the_runtime(running_server):
    url, artifact, dataset = running_server
    graph, x, batch = dataset.select_graphs([0, 1, 2])
    status, reply = _post(url, {"x": x.tolist(), "edge_index": graph.edge_index.tolist(),
                                "batch": batch.tolist()})
    assert status == 200
    expected = Session(artifact).run(x, graph, batch)
    np.testing.assert_allclose(np.array(reply["logits"]), expected, atol=1e-5)
    assert reply["predictions"] == expected.argmax(axis=1).tolist()
    with urllib.request.urlopen(url + "/health", timeout=30) as response:
        assert json.loads(response.read())["inputs"][0]["name"] == "x"


def test_server_rejects_bad_requests_and_keeps_serving(running_server):
    url, _, dataset = running_server
    graph, x, batch = dataset.select_graphs([0])
    bad = [
        {"x": x.tolist()},  # no edge_index
        {"x": x[:, :-1].tolist(), "edge_index": graph.edge_index.tolist()},  # wrong width
        {"x": x.tolist(), "edge_index": [[0, 10**6], [1, 0]]},  # id out of range
        {"x": x.tolist(), "edge_index": [[0, -1], [1, 0]]},  # negative id
        {"x": [["a"]], "edge_index": [[0], [0]]},  # not numbers
        b"{not json",
    ]
    for payload in bad:
        status, reply = _post(url, payload)
        assert status == 400 and reply["error"]
    status, _ = _post(url, {"x": x.tolist(), "edge_index": graph.edge_index.tolist()})
    assert status == 200


def _raw(url: str, body: bytes, length: str) -> tuple[int, dict]:
    """A POST with a hand-written Content-Length (what urllib would not send)."""
    import http.client

    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.putrequest("POST", "/predict")
    connection.putheader("Content-Length", length)
    connection.endheaders()
    connection.send(body)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def test_every_hostile_request_gets_a_status(running_server):
    """Requests that once dropped the connection (ids >= 2**63, deep JSON, a non-numeric
    Content-Length) or were answered 200 although malformed (float ids, truncated to 0)."""
    url, _, dataset = running_server
    graph, x, _ = dataset.select_graphs([0])
    edges = graph.edge_index.tolist()
    cases = [
        ({"x": x.tolist(), "edge_index": [[2**63], [0]]}, 400),
        ({"x": x.tolist(), "edge_index": [[0.9, 1], [1, 0]]}, 400),
        ({"x": x.tolist(), "edge_index": [[True, 1], [1, 0]]}, 400),
        ({"x": [[True] * x.shape[1]] * x.shape[0], "edge_index": edges}, 400),
        ({"x": x.tolist(), "edge_index": edges, "batch": [0.5] * x.shape[0]}, 400),
        ({"x": x.tolist(), "edge_index": edges, "extra": 1}, 400),
        ({"x": [[1.0], [1.0, 2.0]], "edge_index": edges}, 400),
        ([1, 2, 3], 400),
        (("[" * 100_000 + "]" * 100_000).encode(), 400),
    ]
    for payload, expected in cases:
        status, reply = _post(url, payload)
        assert (status, bool(reply["error"])) == (expected, True), payload
    assert _raw(url, b"{}", "abc")[0] == 400
    assert _raw(url, b"", str(64 * 1024 * 1024))[0] == 413
    status, _ = _post(url, {"x": x.tolist(), "edge_index": edges})
    assert status == 200


def _hostile_requests(x: np.ndarray, edges: list, batch: list) -> list:
    """About a hundred malformed requests, each a one-field edit of a valid one."""
    valid = {"x": x.tolist(), "edge_index": edges, "batch": batch}
    values = [None, True, "text", 1.5, -1, 2**63, 2**64, float("nan"), [], [[]], {}, [[1.0]],
              [["a"]], [[0.5, 1], [1, 0]], [[0, 10**9], [1, 0]], [[-5], [0]],
              [list(range(4))] * 3, "[" * 50]
    # Valid by the server's contract, so left out: an empty edge list (no edges), and a null
    # or absent batch (one graph).
    allowed = {"edge_index": ([], [[]]), "batch": (None,)}
    requests = [{k: v for k, v in valid.items() if k != key} for key in ("x", "edge_index")]
    for key in ("x", "edge_index", "batch"):
        requests += [{**valid, key: value} for value in values
                     if not any(value == ok and type(value) is type(ok)
                                for ok in allowed.get(key, ()))]
    requests += [{**valid, "batch": list(reversed(batch))}, {**valid, "batch": batch[:-1]},
                 {**valid, "x": x[:, :-1].tolist()}, {**valid, "surplus": 1}, [valid], "x", 3]
    return requests


def _post_raw(url: str, body: bytes) -> int | None:
    """The status of a POST of ``body``, or None when the connection dropped unanswered."""
    import http.client

    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    try:
        connection.request("POST", "/predict", body=body,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status
    except (ConnectionError, http.client.HTTPException, OSError):
        return None
    finally:
        connection.close()


def test_hostile_requests_under_load_all_get_a_status(running_server):
    """The hostile set, with valid requests between them, from eight clients at once: every
    request is answered (none dropped), every malformed one with a 4xx, every valid one with
    200 and the runtime's prediction."""
    from concurrent.futures import ThreadPoolExecutor

    url, artifact, dataset = running_server
    graph, x, batch = dataset.select_graphs([0, 1])
    edges, batch = graph.edge_index.tolist(), batch.tolist()
    valid = json.dumps({"x": x.tolist(), "edge_index": edges, "batch": batch}).encode()
    hostile = [json.dumps(r, allow_nan=True).encode() if not isinstance(r, bytes) else r
               for r in _hostile_requests(x, edges, batch)]
    assert len(hostile) >= 60
    work = [(body, False) for body in hostile] + [(valid, True)] * 40
    np.random.default_rng(0).shuffle(work)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda item: (_post_raw(url, item[0]), item[1]), work))
    dropped = sum(status is None for status, _ in statuses)
    assert dropped == 0
    assert all(status == 200 for status, is_valid in statuses if is_valid)
    wrongly_accepted = [(status, body[-200:]) for (status, is_valid), (body, _)
                        in zip(statuses, work) if not is_valid and not 400 <= status < 500]
    assert not wrongly_accepted, wrongly_accepted[:3]
    status, reply = _post(url, {"x": x.tolist(), "edge_index": edges, "batch": batch})
    np.testing.assert_allclose(np.array(reply["logits"]), Session(artifact).run(
        x, graph, np.array(batch)), atol=1e-5)


def test_a_retrieval_index_is_served_as_a_recommender(tmp_path):
    """GET /recommend answers what the runtime answers; malformed queries get 400, and the
    server keeps serving (torch, scipy and onnx blocked in the server's process)."""
    from sparsegnn.artifact import RetrievalIndex, save_retrieval_index
    from sparsegnn.runtime import Recommender

    rng = np.random.default_rng(0)
    seen = np.sort([[u, u + 20] for u in range(30)], axis=1)  # user u has seen u and u + 20
    index = RetrievalIndex(rng.normal(size=(30, 8)).astype(np.float32),
                           rng.normal(size=(50, 8)).astype(np.float32),
                           np.arange(0, 61, 2, dtype=np.int64), seen.ravel().astype(np.int32))
    path = save_retrieval_index(index, tmp_path / "rec.sgnn")
    with _serving(path) as url:

        def get(query: str) -> tuple[int, dict]:
            try:
                with urllib.request.urlopen(url + query, timeout=60) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        status, reply = get("/recommend?user=3&k=5")
        expected_items, expected_scores = Recommender(path).recommend([3], 5)
        assert status == 200 and reply["items"] == expected_items.tolist()
        np.testing.assert_allclose(reply["scores"], expected_scores, rtol=1e-6)
        status, reply = get("/recommend?users=0,29&k=3")
        assert status == 200 and len(reply["items"]) == 2
        for query in ("/recommend?user=30", "/recommend?user=-1", "/recommend?user=1.5",
                      "/recommend?user=1&k=0", "/recommend?user=1&k=51", "/recommend?k=3",
                      "/recommend?user=1&extra=2", "/recommend?user=" + "9" * 40,
                      "/recommend?user=1&k=%00", "/recommend?user=&k=2",
                      "/recommend?users=" + ",".join(["1"] * 2000)):
            status, reply = get(query)
            assert status == 400 and reply["error"], query
        assert get("/nowhere")[0] == 404
        assert get("/health") == (200, {"users": 30, "items": 50})
        assert get("/recommend?user=0")[0] == 200
