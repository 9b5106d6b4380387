"""The artifact loader under attack: every malformed file gives ArtifactError (never a crash or
a huge allocation), and a failed export leaves no partial file and an earlier file intact."""

import pickle
import zlib

import numpy as np
import pytest
import torch

from sparsegnn._mutations import read_header, write_header
from sparsegnn.artifact import ArtifactError, load_artifact
from sparsegnn.export import export_artifact
from sparsegnn.nn import GCN


@pytest.fixture
def model():
    torch.manual_seed(0)
    gcn = GCN(20, 8, 2, 3).eval()
    with torch.no_grad():
        gcn.convs[0].lin.weight.mul_(torch.rand(8, 20) > 0.8)  # sparse: stored as CSR
    return gcn


# Read and hand-edit a header the way an attacker would (the manifest checksum recomputed).
_parts, _write = read_header, write_header


def _recrc(manifest, table, data, name, array):
    """Replace tensor ``name``'s bytes and fix its CRC, so only deeper checks can catch it."""
    begin, end = table[name]["data_offsets"]
    raw = array.tobytes()
    assert len(raw) == end - begin
    manifest["tensors"][name] = f"{zlib.crc32(raw):08x}"
    return data[:begin] + raw + data[end:]


def test_valid_artifact_loads(model, tmp_path):
    path = export_artifact(model, tmp_path / "m.sgnn")
    loaded = load_artifact(path)
    assert [n.op for n in loaded.nodes] == ["gcn_conv", "gcn_conv"]


@pytest.mark.parametrize("cut", [0, 4, 12, 200, -1])
def test_truncated_files(model, tmp_path, cut):
    path = export_artifact(model, tmp_path / "m.sgnn")
    raw = path.read_bytes()
    path.write_bytes(raw[:cut] if cut >= 0 else raw[:-5])
    with pytest.raises(ArtifactError, match="m.sgnn"):
        load_artifact(path)


def test_flipped_bytes_are_caught_by_checksums(model, tmp_path):
    path = export_artifact(model, tmp_path / "m.sgnn")
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match="CRC-32 mismatch"):
        load_artifact(path)


def test_a_corrupted_header_that_still_parses_is_caught(model, tmp_path):
    """One changed character in the manifest (here a flag) once loaded and changed outputs."""
    path = export_artifact(model, tmp_path / "m.sgnn")
    table, manifest, data = _parts(path)
    manifest["nodes"][0]["attrs"]["improved"] = True
    _write(path, table, manifest, data, recompute_checksum=False)
    with pytest.raises(ArtifactError, match="manifest CRC-32 mismatch"):
        load_artifact(path)


def test_wrong_checksum_in_manifest(model, tmp_path):
    path = export_artifact(model, tmp_path / "m.sgnn")
    table, manifest, data = _parts(path)
    name = next(iter(manifest["tensors"]))
    manifest["tensors"][name] = "00000000"
    _write(path, table, manifest, data)
    with pytest.raises(ArtifactError, match=f"tensor '{name}': CRC-32 mismatch"):
        load_artifact(path)


@pytest.mark.parametrize("edit, message", [
    (lambda ip, ix: (np.array([0, 5, 3] + list(ip[3:]), ip.dtype), ix), "non-decreasing"),
    (lambda ip, ix: (ip, np.full_like(ix, 999)), "must be <"),
    (lambda ip, ix: (ip, np.full_like(ix, -1)), "non-negative"),
    (lambda ip, ix: (np.concatenate([ip[:-1], [ip[-1] - 1]]).astype(ip.dtype), ix), "indptr\\[-1\\]"),
    (lambda ip, ix: (np.concatenate([[1], ip[1:]]).astype(ip.dtype), ix), "indptr\\[0\\] must be 0"),
])
def test_broken_csr_with_valid_checksums(model, tmp_path, edit, message):
    path = export_artifact(model, tmp_path / "m.sgnn")
    table, manifest, data = _parts(path)
    base = next(n[: -len(".indptr")] for n in manifest["tensors"] if n.endswith(".indptr"))
    indptr = np.frombuffer(data, dtype=np.int16 if table[f"{base}.indptr"]["dtype"] == "I16"
                           else np.int32, count=table[f"{base}.indptr"]["shape"][0],
                           offset=table[f"{base}.indptr"]["data_offsets"][0])
    index_dtype = {"I16": np.int16, "I32": np.int32}[table[f"{base}.indices"]["dtype"]]
    begin, end = table[f"{base}.indices"]["data_offsets"]
    indices = np.frombuffer(data[begin:end], dtype=index_dtype)
    new_indptr, new_indices = edit(indptr.copy(), indices.copy())
    data = _recrc(manifest, table, data, f"{base}.indptr", new_indptr)
    data = _recrc(manifest, table, data, f"{base}.indices", new_indices)
    _write(path, table, manifest, data)
    with pytest.raises(ArtifactError, match=message):
        load_artifact(path)


def test_unknown_ops_and_versions(model, tmp_path):
    path = export_artifact(model, tmp_path / "m.sgnn")
    table, manifest, data = _parts(path)
    manifest["nodes"][0]["op"] = "fft_conv"
    _write(path, table, manifest, data)
    with pytest.raises(ArtifactError, match="unknown op 'fft_conv'; registered ops: .*gcn_conv"):
        load_artifact(path)
    manifest["nodes"][0]["op"] = "gcn_conv"
    manifest["nodes"][0]["version"] = 7
    _write(path, table, manifest, data)
    with pytest.raises(ArtifactError, match="op version 7 is not supported"):
        load_artifact(path)
    manifest["nodes"][0]["version"] = 1
    manifest["format_version"] = 99
    _write(path, table, manifest, data)
    with pytest.raises(ArtifactError, match="format version 99 is not supported"):
        load_artifact(path)


def test_input_spec_must_give_the_feature_width(model, tmp_path):
    path = export_artifact(model, tmp_path / "m.sgnn")
    table, manifest, data = _parts(path)
    manifest["inputs"][0]["shape"] = [None]
    _write(path, table, manifest, data)
    with pytest.raises(ArtifactError, match="must have shape"):
        load_artifact(path)


def test_dataflow_must_be_in_order(model, tmp_path):
    path = export_artifact(model, tmp_path / "m.sgnn")
    table, manifest, data = _parts(path)
    manifest["nodes"].reverse()
    _write(path, table, manifest, data)
    with pytest.raises(ArtifactError, match="nor produced by an earlier node"):
        load_artifact(path)


@pytest.mark.parametrize("shape", [[2**40], [2**31, 2**31], [-1]])
def test_absurd_declared_sizes_allocate_nothing(model, tmp_path, shape):
    path = export_artifact(model, tmp_path / "m.sgnn")
    table, manifest, data = _parts(path)
    name = next(iter(manifest["tensors"]))
    table[name]["shape"] = shape
    _write(path, table, manifest, data)
    with pytest.raises(ArtifactError, match=name.replace(".", "\\.")):
        load_artifact(path)


def test_absurd_header_length(tmp_path):
    path = tmp_path / "m.sgnn"
    path.write_bytes((2**62).to_bytes(8, "little") + b"{}")
    with pytest.raises(ArtifactError, match="header length"):
        load_artifact(path)


def test_foreign_files(tmp_path):
    from safetensors.numpy import save_file

    plain = tmp_path / "plain.safetensors"
    save_file({"w": np.zeros(3, np.float32)}, str(plain))
    with pytest.raises(ArtifactError, match="plain safetensors"):
        load_artifact(plain)
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(ArtifactError, match="model.pkl"):
        load_artifact(pickled)
    empty = tmp_path / "empty.sgnn"
    empty.write_bytes(b"")
    with pytest.raises(ArtifactError, match="empty"):
        load_artifact(empty)
    with pytest.raises(ArtifactError, match="no such artifact"):
        load_artifact(tmp_path / "missing.sgnn")


def test_failed_export_keeps_the_earlier_file(model, tmp_path, monkeypatch):
    import sparsegnn.artifact as artifact

    path = export_artifact(model, tmp_path / "m.sgnn")
    before = path.read_bytes()

    class FailingFile:
        """Writes the first chunk, then fails like a full disk."""

        def __init__(self, name, mode):
            self.handle, self.writes = open(name, mode), 0

        def write(self, data):
            self.writes += 1
            if self.writes > 2:
                raise OSError("disk full")
            return self.handle.write(data)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    monkeypatch.setattr(artifact, "open", FailingFile, raising=False)
    with pytest.raises(OSError, match="disk full"):
        export_artifact(model, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.sgnn"]
