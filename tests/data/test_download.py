"""The download path, against a local HTTP server on 127.0.0.1 serving the shared folder."""

import functools
import hashlib
import http.server
import io
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from sparsegnn import data
from sparsegnn.data import DownloadError
from sparsegnn.data._sources import COMMITS, FILES
from sparsegnn.data.registry import REGISTRY


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """Serve a folder on 127.0.0.1; yields a function folder -> base URL."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_download_from_a_mirror_then_load(datasets_root, serve, tmp_path):
    mirror = serve(datasets_root)
    cache = tmp_path / "cache"
    dataset = data.load("mutag", cache, download=True, mirror=mirror)
    assert dataset.num_graphs == 188
    for relative in REGISTRY["mutag"].files():
        assert hashlib.sha256((cache / relative).read_bytes()).hexdigest() == FILES[relative][1]
    # a second load finds the cached files and does not need the server
    assert data.load("mutag", cache).num_graphs == 188


def test_checksum_mismatch_leaves_no_file(datasets_root, serve, tmp_path):
    served = tmp_path / "served"
    shutil.copytree(datasets_root / "planetoid", served / "planetoid")
    tampered = served / "planetoid" / "ind.cora.y"
    tampered.chmod(0o644)
    tampered.write_bytes(tampered.read_bytes()[:-1] + b"\x00")
    mirror = serve(served)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match=r"ind\.cora\.y"):
        data.load("cora", cache, download=True, mirror=mirror)
    assert not (cache / "planetoid" / "ind.cora.y").exists()
    assert not list((cache / "planetoid").glob(".*tmp"))


def test_missing_file_on_the_server_is_reported(serve, tmp_path):
    mirror = serve(tmp_path)  # empty folder
    with pytest.raises(DownloadError, match="download failed"):
        data.load("texas", tmp_path / "cache", download=True, mirror=mirror)


def test_public_source_path_extracts_zip_members(datasets_root, serve, tmp_path, monkeypatch):
    """Without a mirror, TU files come out of the upstream repository's zip: rebuild that layout
    (repository/commit/path) locally and point the GitHub base URL at it."""
    repo, path = FILES["tu/MUTAG/MUTAG_A.txt"][2:4]
    archive = tmp_path / "github" / repo / COMMITS[repo] / path
    archive.parent.mkdir(parents=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for relative in REGISTRY["mutag"].files():
            zipped.write(datasets_root / relative, FILES[relative][4])
    archive.write_bytes(buffer.getvalue())
    monkeypatch.setenv("SPARSEGNN_GITHUB_RAW", serve(tmp_path / "github"))
    dataset = data.load("mutag", tmp_path / "cache", download=True)
    assert dataset.num_graphs == 188
