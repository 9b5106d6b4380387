"""The ``.sgnn`` artifact: one safetensors-compatible file holding an IR model (numpy only).

Layout (see ``docs/artifact-format.md``): an 8-byte little-endian header length, a JSON header
(safetensors' tensor table plus ``__metadata__.sparsegnn``, the manifest as a JSON string),
padded with spaces to an 8-byte boundary, then the tensors back to back, largest item size
first so that every tensor starts aligned to its item size. Loading maps the file and returns
read-only views: nothing is copied and nothing is unpickled.
"""

from __future__ import annotations

import json
import math
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from ._fileio import atomic_path
from .ir import (
    FORMAT_VERSION,
    OPS,
    STORED_GRAPH,
    Model,
    Node,
    csr_parts,
    matrix_shape,
    matrix_tensors,
    matrix_to_dense,
)
from .patterns import MAX_BLOCK, Pattern, PatternError, follows
from .sparse import check_csr

__all__ = ["ArtifactError", "save_artifact", "load_artifact", "FORMAT", "MAX_HEADER_BYTES",
           "RetrievalIndex", "save_retrieval_index", "load_retrieval_index", "artifact_kind"]

FORMAT = "sparsegnn.artifact"
MAX_HEADER_BYTES = 64 * 1024 * 1024
ALIGNMENT = 8  # the largest item size: every tensor starts aligned to its own
DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
          "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}
# Bounds on what a file of a given size may declare: a sparse matrix's dense size against its
# stored values (a 99.6 % pruned matrix is within it), or a fixed floor.
SPARSE_EXPANSION = 256
MAX_DENSE_ELEMENTS = 1 << 24
MANIFEST_KEYS = {"format", "format_version", "producer", "inputs", "outputs", "nodes",
                 "metadata", "tensors", "manifest_crc32", "kind"}
RETRIEVAL = "retrieval"  # the manifest kind of a retrieval index (a model's has no kind)


class ArtifactError(ValueError):
    """The file is not a valid sparsegnn artifact; the message says what was expected and found."""


# ----------------------------------------------------------------------------- writing
def save_artifact(model: Model, path: str | os.PathLike) -> Path:
    """Validate ``model`` and write it to ``path`` atomically."""
    model.validate()
    return _write(path, model.tensors, {
        "inputs": model.inputs, "outputs": model.outputs,
        "nodes": [node.to_json() for node in model.nodes], "metadata": model.metadata})


def _write(path: str | os.PathLike, tensors: dict[str, np.ndarray], fields: dict) -> Path:
    """Write ``tensors`` and a manifest of ``fields`` (plus format, version, producer and the
    checksums) atomically."""
    tensors = {name: np.ascontiguousarray(array) for name, array in tensors.items()}
    for name, array in tensors.items():
        if array.dtype not in CODES:
            raise ArtifactError(f"tensor {name!r} has unsupported dtype {array.dtype}")
    order = sorted(tensors, key=lambda n: (-tensors[n].dtype.itemsize, n))
    table, offset = {}, 0
    for name in order:
        array = tensors[name]
        table[name] = {"dtype": CODES[array.dtype], "shape": list(array.shape),
                       "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "producer": f"sparsegnn {__version__}",
        **fields,
        # dtype, shape and offsets live in the safetensors table, which covers the data section
        # without holes; the manifest adds a CRC-32 per tensor, naming the corrupt one.
        "tensors": {name: f"{zlib.crc32(tensors[name].tobytes()):08x}" for name in order},
    }
    manifest["manifest_crc32"] = manifest_checksum(manifest)
    table["__metadata__"] = {"sparsegnn": json.dumps(manifest, separators=(",", ":"))}
    header = json.dumps(table, separators=(",", ":")).encode("utf-8")
    header += b" " * (-(8 + len(header)) % ALIGNMENT)
    path = Path(path)
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        handle.write(len(header).to_bytes(8, "little"))
        handle.write(header)
        for name in order:
            handle.write(tensors[name].tobytes())
    return path


# ----------------------------------------------------------------------------- reading
def _fail(path, message: str):
    raise ArtifactError(f"{path}: {message}")


def _read_header(path: Path, data: np.ndarray) -> tuple[dict, int]:
    if data.shape[0] < 8:
        _fail(path, f"file is {data.shape[0]} bytes, too short for a header length")
    length = int.from_bytes(data[:8].tobytes(), "little")
    if length > MAX_HEADER_BYTES or 8 + length > data.shape[0]:
        _fail(path, f"header length {length} does not fit the {data.shape[0]}-byte file")
    try:
        table = json.loads(data[8 : 8 + length].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        _fail(path, f"header is not valid JSON or nested too deeply ({type(exc).__name__})")
    if not isinstance(table, dict):
        _fail(path, "header must be a JSON object")
    return table, 8 + length


def manifest_checksum(manifest: dict) -> str:
    """CRC-32 of the manifest without its own checksum field (canonical JSON): a corrupted
    header that still parses is caught like corrupted tensor data."""
    body = {k: v for k, v in manifest.items() if k != "manifest_crc32"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return f"{zlib.crc32(text.encode('utf-8')):08x}"


def _read_manifest(path: Path, table: dict) -> dict:
    metadata = table.get("__metadata__")
    if isinstance(metadata, dict) and metadata.get("format") == "sparsegnn.checkpoint":
        _fail(path, "this is a sparsegnn checkpoint (written by train or prune), not an "
                    "artifact: export it first (sparsegnn export CHECKPOINT --out model.sgnn); "
                    "run and inspect take artifacts, bench takes both")
    if not isinstance(metadata, dict) or "sparsegnn" not in metadata:
        _fail(path, "expected a sparsegnn manifest in __metadata__, found none "
                    "(is this a plain safetensors file?)")
    try:
        manifest = json.loads(metadata["sparsegnn"])
    except (TypeError, json.JSONDecodeError, RecursionError) as exc:
        _fail(path, f"manifest is not valid JSON or nested too deeply ({type(exc).__name__})")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        _fail(path, f"expected format {FORMAT!r}, found {manifest.get('format')!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        _fail(path, f"format version {manifest.get('format_version')!r} is not supported "
                    f"(this sparsegnn reads version {FORMAT_VERSION})")
    unknown = set(manifest) - MANIFEST_KEYS
    if unknown:
        _fail(path, f"unknown manifest fields {sorted(unknown)}; expected {sorted(MANIFEST_KEYS)}")
    # files written before the manifest had a checksum have none; a present one must match
    if "manifest_crc32" in manifest and manifest["manifest_crc32"] != manifest_checksum(manifest):
        _fail(path, "manifest CRC-32 mismatch (the header is corrupt)")
    for key, kind in (("tensors", dict), ("metadata", dict)):
        if not isinstance(manifest.get(key), kind):
            _fail(path, f"manifest field {key!r} must be a {kind.__name__}")
    return manifest


def artifact_kind(path: str | os.PathLike) -> str:
    """``"model"`` or ``"retrieval"``, from the header alone (nothing else is checked)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise ArtifactError(f"{path}: no such artifact file, or an empty one")
    data = np.memmap(path, dtype=np.uint8, mode="r")
    manifest = _read_manifest(path, _read_header(path, data)[0])
    return RETRIEVAL if manifest.get("kind") == RETRIEVAL else "model"


def _read(path: str | os.PathLike) -> tuple[Path, dict, dict[str, np.ndarray]]:
    """Map ``path``; its checked manifest and read-only tensor views."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: no such artifact file")
    if path.stat().st_size == 0:
        _fail(path, "file is empty")
    data = np.memmap(path, dtype=np.uint8, mode="r")
    table, start = _read_header(path, data)
    manifest = _read_manifest(path, table)
    return path, manifest, _read_tensors(path, data, table, manifest, start)


def _read_tensors(path: Path, data: np.ndarray, table: dict, manifest: dict,
                  start: int) -> dict[str, np.ndarray]:
    buffer_size = data.shape[0] - start
    tensors, spans = {}, []
    for name, crc in manifest["tensors"].items():
        if not isinstance(crc, str):
            _fail(path, f"tensor {name!r}: its checksum must be a hex string, found {crc!r}")
        entry = table.get(name)
        if not isinstance(entry, dict):
            _fail(path, f"tensor {name!r} is listed in the manifest but not in the file")
        dtype = DTYPES.get(entry.get("dtype")) if isinstance(entry.get("dtype"), str) else None
        if dtype is None:
            _fail(path, f"tensor {name!r}: unknown dtype {entry.get('dtype')!r}; expected one "
                        f"of {sorted(DTYPES)}")
        shape = entry.get("shape")
        if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
            _fail(path, f"tensor {name!r}: shape must be a list of non-negative integers, "
                        f"found {shape!r}")
        offsets = entry.get("data_offsets")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int)
                                                                        for o in offsets)):
            _fail(path, f"tensor {name!r}: malformed data_offsets {offsets!r}")
        begin, end = offsets
        count = math.prod(shape)  # Python ints: a dimension of 2**64 cannot overflow
        if not 0 <= begin <= end <= buffer_size or end - begin != count * np.dtype(dtype).itemsize:
            _fail(path, f"tensor {name!r}: declares {count} x {np.dtype(dtype).itemsize} bytes at "
                        f"[{begin}, {end}), the data section has {buffer_size} bytes")
        spans.append((begin, end))
        raw = data[start + begin : start + end]
        if f"{zlib.crc32(raw):08x}" != crc:
            _fail(path, f"tensor {name!r}: CRC-32 mismatch (the file is corrupt)")
        array = raw.view(dtype).reshape(shape)
        array.flags.writeable = False
        tensors[name] = array
    extra = set(table) - set(manifest["tensors"]) - {"__metadata__"}
    if extra:
        _fail(path, f"tensors {sorted(extra)} are in the file but not in the manifest")
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            _fail(path, f"tensors overlap or leave a gap at byte {position} of the data section")
        position = end
    if position != buffer_size:
        _fail(path, f"the tensors cover {position} bytes of a {buffer_size}-byte data section "
                    f"(the file has trailing bytes)")
    return tensors


def _check_matrix(path, where: str, matrix: dict, tensors: dict) -> None:
    rows, cols = matrix_shape(matrix)  # validated: two positive integers
    stored = tensors[matrix_tensors(matrix)[-1]].size
    if rows * cols > max(MAX_DENSE_ELEMENTS, SPARSE_EXPANSION * stored):
        # the runtime may hold a matrix dense: a few stored values must not claim gigabytes
        _fail(path, f"{where}: a {rows} x {cols} matrix with {stored} stored values is "
                    f"implausibly sparse (at most {SPARSE_EXPANSION}x its stored values, or "
                    f"{MAX_DENSE_ELEMENTS:,} entries)")
    if matrix["format"] == "dense":
        array = tensors[matrix["tensor"]]
        if array.shape != (rows, cols) or array.dtype.kind != "f":
            _fail(path, f"{where}: dense weight must be float ({rows}, {cols}), found "
                        f"{array.dtype} {array.shape}")
    elif matrix["format"] == "bsr":
        _check_blocks(path, where, matrix, tensors, rows, cols)
    else:
        indptr, indices, values = csr_parts(matrix, tensors)
        if values.dtype.kind != "f":
            _fail(path, f"{where}: CSR values must be float, found {values.dtype}")
        csr_rows, csr_cols = (rows, cols) if matrix["format"] == "csr" else (cols, rows)
        try:
            check_csr(indptr, indices, csr_rows, csr_cols, values, name=where, error=ArtifactError)
        except ArtifactError as exc:
            _fail(path, str(exc))
    if "pattern" in matrix:
        try:
            pattern = Pattern.parse(matrix["pattern"])
        except PatternError as exc:
            _fail(path, f"{where}: {exc}")
        if pattern.kind == "n:m" and not follows(matrix_to_dense(matrix, tensors).T != 0,
                                                 pattern):
            _fail(path, f"{where}: the weights do not follow their pattern {pattern.name} "
                        f"(more than {pattern.keep} nonzeros in a group of {pattern.group})")


def _check_blocks(path, where: str, matrix: dict, tensors: dict, rows: int, cols: int) -> None:
    """A "bsr" matrix: block shape, block CSR invariants, value shape, zero padding."""
    block = matrix.get("block")
    if not (isinstance(block, list) and len(block) == 2
            and all(isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= MAX_BLOCK
                    for b in block)):
        _fail(path, f"{where}: a bsr matrix needs \"block\": [R, C] with sides in "
                    f"[1, {MAX_BLOCK}], found {block!r}")
    block_rows, block_cols = block
    indptr, indices, values = csr_parts(matrix, tensors)
    try:
        check_csr(indptr, indices, -(-rows // block_rows), -(-cols // block_cols),
                  name=where, error=ArtifactError)
    except ArtifactError as exc:
        _fail(path, str(exc))
    if values.dtype.kind != "f" or values.shape != (indices.shape[0], block_rows, block_cols):
        _fail(path, f"{where}: bsr values must be float ({indices.shape[0]}, {block_rows}, "
                    f"{block_cols}), found {values.dtype} {values.shape}")
    if not np.all(np.isfinite(values)):
        _fail(path, f"{where}: values must be finite (found NaN or inf)")
    last_rows, last_cols = rows % block_rows, cols % block_cols
    row_ids = np.repeat(np.arange(indptr.shape[0] - 1), np.diff(indptr.astype(np.int64)))
    edge_rows = row_ids == indptr.shape[0] - 2
    edge_cols = indices.astype(np.int64) == -(-cols // block_cols) - 1
    if (last_rows and np.any(values[edge_rows, last_rows:, :])) or \
            (last_cols and np.any(values[edge_cols, :, last_cols:])):
        _fail(path, f"{where}: bsr blocks past the {rows} x {cols} matrix must hold zeros")


def _check_semantics(path: Path, model: Model) -> None:
    """What ``Model.validate`` leaves to the loader: that each matrix's tensors hold the matrix
    its description declares (shape, dtype, CSR invariants, pattern), and the stored graph's
    CSR invariants."""
    tensors = model.tensors
    for index, node in enumerate(model.nodes):
        for key in OPS[node.op].matrices():
            if node.attrs.get(key) is not None:
                _check_matrix(path, f"node {index} ({node.op}) {key}", node.attrs[key], tensors)
    if model.has_stored_graph:
        indptr = tensors[f"{STORED_GRAPH}.indptr"]
        num_nodes = indptr.shape[0] - 1
        weight = tensors.get(f"{STORED_GRAPH}.weight")
        try:
            check_csr(indptr, tensors.get(f"{STORED_GRAPH}.indices", np.zeros(0, np.int64)),
                      num_nodes, num_nodes, weight, name="stored graph", error=ArtifactError)
        except ArtifactError as exc:
            _fail(path, str(exc))


def load_artifact(path: str | os.PathLike) -> Model:
    """Map ``path`` and return its validated :class:`~sparsegnn.ir.Model` (read-only tensors).

    Everything is checked before any compute: header and manifest, format version, every
    tensor's dtype, shape, offsets and CRC-32, CSR invariants, known ops and versions, each op's
    attributes and their types, widths that chain from ``x`` to the output, and that every op
    input is produced earlier or fed by the caller (``Model.validate``). Raises
    :class:`ArtifactError`.
    """
    path, manifest, tensors = _read(path)
    if manifest.get("kind") == RETRIEVAL:
        _fail(path, "this is a retrieval index (a recommender's embeddings), not a model: "
                    "load it with sparsegnn.runtime.Recommender")
    if "kind" in manifest:
        _fail(path, f"unknown artifact kind {manifest['kind']!r}")
    for key in ("inputs", "outputs", "nodes"):
        if not isinstance(manifest.get(key), list):
            _fail(path, f"manifest field {key!r} must be a list")
    nodes = []
    for entry in manifest["nodes"]:
        if not (isinstance(entry, dict) and isinstance(entry.get("inputs"), list)
                and isinstance(entry.get("outputs"), list)
                and isinstance(entry.get("attrs", {}), dict)
                and set(entry) <= {"op", "version", "inputs", "outputs", "attrs"}):
            _fail(path, f"malformed node {str(entry)[:200]}: expected an object with op, version, "
                        f"inputs, outputs and attrs")
        attrs = {key: value for key, value in entry.get("attrs", {}).items()
                 if value is not None}  # null means absent, as the writer leaves it out
        nodes.append(Node(op=entry.get("op"), inputs=entry["inputs"], outputs=entry["outputs"],
                          attrs=attrs, version=entry.get("version")))
    model = Model(nodes=nodes, tensors=tensors, inputs=manifest["inputs"],
                  outputs=manifest["outputs"], metadata=manifest["metadata"])
    try:
        model.validate(error=ArtifactError)
    except ArtifactError as exc:
        _fail(path, str(exc))
    _check_semantics(path, model)
    model.metadata = dict(model.metadata, producer=manifest.get("producer"))
    return model


# ----------------------------------------------------------------------------- retrieval indexes
@dataclass(frozen=True)
class RetrievalIndex:
    """What serving a recommender needs: final embeddings ``users (U, D)`` and ``items (I, D)``
    (float32; a user's score for an item is their dot product) and each user's items seen in
    training, ``seen_indptr (U + 1,)`` int64 / ``seen_indices`` int32 (left out of their
    recommendations). ``metadata``: JSON (model, dataset, figures)."""

    users: np.ndarray
    items: np.ndarray
    seen_indptr: np.ndarray
    seen_indices: np.ndarray
    metadata: dict = field(default_factory=dict)

    def check(self, error=ArtifactError, where: str = "retrieval index") -> None:
        """Shapes, dtypes, finiteness and the seen sets' CSR invariants."""
        for name, array in (("users", self.users), ("items", self.items)):
            if array.dtype != np.float32 or array.ndim != 2 or 0 in array.shape:
                raise error(f"{where}: {name} must be a non-empty 2-D float32 array, found "
                            f"{array.dtype} {array.shape}")
            if not np.all(np.isfinite(array)):
                raise error(f"{where}: {name} hold NaN or inf")
        if self.users.shape[1] != self.items.shape[1]:
            raise error(f"{where}: users have {self.users.shape[1]} dimensions, items "
                        f"{self.items.shape[1]}")
        if self.seen_indptr.shape != (self.users.shape[0] + 1,):
            raise error(f"{where}: seen sets need {self.users.shape[0] + 1} row pointers, found "
                        f"shape {self.seen_indptr.shape}")
        check_csr(self.seen_indptr, self.seen_indices, self.users.shape[0], self.items.shape[0],
                  name=f"{where} seen sets", error=error)


def save_retrieval_index(index: RetrievalIndex, path: str | os.PathLike) -> Path:
    """Check ``index`` and write it to ``path`` atomically (the artifact container, kind
    ``retrieval``)."""
    index.check(ValueError)
    return _write(path, {"users": index.users, "items": index.items,
                         "seen.indptr": index.seen_indptr.astype(np.int64),
                         "seen.indices": index.seen_indices.astype(np.int32)},
                  {"kind": RETRIEVAL, "metadata": index.metadata})


def load_retrieval_index(path: str | os.PathLike) -> RetrievalIndex:
    """Map and check a retrieval index written by :func:`save_retrieval_index`; raises
    :class:`ArtifactError` naming the file."""
    path, manifest, tensors = _read(path)
    if manifest.get("kind") != RETRIEVAL:
        _fail(path, "this is a model artifact, not a retrieval index: run it with Session")
    expected = {"users": np.float32, "items": np.float32, "seen.indptr": np.int64,
                "seen.indices": np.int32}
    if set(tensors) != set(expected):
        _fail(path, f"a retrieval index holds the tensors {sorted(expected)}, found "
                    f"{sorted(tensors)}")
    for name, dtype in expected.items():
        if tensors[name].dtype != dtype:
            _fail(path, f"tensor {name!r} must be {np.dtype(dtype)}, found {tensors[name].dtype}")
    index = RetrievalIndex(tensors["users"], tensors["items"], tensors["seen.indptr"],
                           tensors["seen.indices"],
                           dict(manifest["metadata"], producer=manifest.get("producer")))
    index.check(ArtifactError, str(path))
    return index
