"""Hostile variants of a valid artifact, for fuzzing the loader (``tests/test_fuzz_artifacts.py``
and ``bench/fuzz.py``): semantic edits of the manifest and tensor table with every checksum
recomputed, so that only the loader's deeper checks can catch them.

An edit is a path into the header JSON and a replacement value; :func:`mutate` applies it and
rewrites the file. Edits inside ``metadata`` (free-form provenance) or to ``producer`` may
load and change nothing; so may an op's number, flag or choice set to another valid one or
removed (a different but valid model: its outputs may change, and must stay finite); any other
accepted edit must leave the model's outputs unchanged.
"""

from __future__ import annotations

import json
import math
import random
import zlib
from pathlib import Path

__all__ = ["manifest_paths", "mutate", "hostile_values", "harmless", "retunes_an_op",
           "read_header", "write_header"]


def read_header(path: Path) -> tuple[dict, dict, bytes]:
    """``(tensor table, manifest, data section)`` of an artifact."""
    raw = Path(path).read_bytes()
    length = int.from_bytes(raw[:8], "little")
    table = json.loads(raw[8:8 + length])
    return table, json.loads(table["__metadata__"]["sparsegnn"]), raw[8 + length:]


def write_header(path: Path, table: dict, manifest: dict, data: bytes,
                 recompute_checksum: bool = True) -> None:
    """Write an artifact with a hand-edited header; its manifest checksum is recomputed (as an
    attacker would), so only the loader's deeper checks can catch the edit."""
    if recompute_checksum and isinstance(manifest, dict) and "manifest_crc32" in manifest:
        from .artifact import manifest_checksum

        manifest = dict(manifest, manifest_crc32=manifest_checksum(manifest))
    table = dict(table, __metadata__={"sparsegnn": json.dumps(manifest)})
    header = json.dumps(table).encode()
    Path(path).write_bytes(len(header).to_bytes(8, "little") + header + data)


def manifest_paths(value, prefix=()) -> list[tuple]:
    """Every path to a value inside ``value`` (dict keys and list indices)."""
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += manifest_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += manifest_paths(item, (*prefix, index))
    return paths


def hostile_values(rng: random.Random, original) -> list:
    """Replacements worth trying for ``original``: off by one, types swapped, extremes."""
    values = [None, True, False, 0, -1, 1, 2**31, 2**63, 2**64, -(2**63), 1.5, 1e308,
              math.nan, math.inf, "", "x", [], {}, [1], {"a": 1}, "float64", "csr", "bsr"]
    if isinstance(original, bool):
        values += [not original, int(original)]
    elif isinstance(original, int):
        values += [original + 1, original - 1, original * 2, -original, float(original)]
    elif isinstance(original, float):
        values += [original * 2, -original, int(original)]
    elif isinstance(original, str):
        values += [original + "x", original[:-1], original.upper()]
    elif isinstance(original, list):
        values += [original[:-1], original + original[-1:], list(reversed(original))]
    return values


def harmless(path: tuple) -> bool:
    """Edits that may load and change nothing that runs: provenance."""
    return bool(path) and path[0] in ("metadata", "producer")


def retunes_an_op(path: tuple, original, value) -> bool:
    """Whether the edit set or removed one of an op's own attributes (a number, flag or
    choice; not a weight's description): if the model still validates, it is a different
    valid model."""
    return len(path) == 4 and path[0] == "nodes" and path[2] == "attrs" and \
        not isinstance(original, dict) and value != "<renamed>"


def mutate(source: Path, target: Path, rng: random.Random) -> tuple[str, tuple, object, object]:
    """Write to ``target`` a copy of artifact ``source`` with one edit, checksums recomputed.
    Returns ``(where, path, original, value)``: ``where`` is "manifest" or "table"."""
    table, manifest, data = read_header(source)
    if rng.random() < 0.8:
        where, document = "manifest", manifest
    else:
        where, document = "table", {k: v for k, v in table.items() if k != "__metadata__"}
    path = rng.choice([p for p in manifest_paths(document) if p])
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    action = rng.random()
    original = parent[path[-1]]
    if action < 0.1 and isinstance(parent, dict):
        del parent[path[-1]]
        value = "<deleted>"
    elif action < 0.2 and isinstance(parent, dict):
        parent[path[-1] + rng.choice(["x", "_", "s"])] = parent.pop(path[-1])
        value = "<renamed>"
    else:
        value = rng.choice(hostile_values(rng, parent[path[-1]]))
        parent[path[-1]] = value
    if where == "table":
        table = dict(document, __metadata__=table["__metadata__"])
    # recompute every checksum the manifest can name (the data are unchanged)
    checksums = manifest.get("tensors") if isinstance(manifest, dict) else None
    for name, entry in table.items() if isinstance(checksums, dict) else ():
        if name != "__metadata__" and isinstance(entry, dict) and name in checksums:
            offsets = entry.get("data_offsets")
            if isinstance(offsets, list) and len(offsets) == 2 and all(
                    isinstance(o, int) and 0 <= o <= len(data) for o in offsets):
                checksums[name] = f"{zlib.crc32(data[offsets[0]:offsets[1]]):08x}"
    write_header(target, table, manifest, data)
    return where, path, original, value
