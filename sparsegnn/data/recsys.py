"""User-item interaction sets for recommendation (numpy only).

The LightGCN text format: one line per user, ``user_id item_id item_id ...``, ids from 0 and
separated by spaces, in ``train.txt``, ``valid.txt`` and ``test.txt``; a user's line may be
missing from a file. Users and items are separate id spaces (a bipartite graph).

``load_interactions`` returns an :class:`Interactions`: one ``users x items`` CSR matrix of
ones per part. The protocol (LightGCN, and ``shared/datasets/README.md``): train on ``train``,
select on ``valid``, report Recall@20 and NDCG@20 on ``test``, ranking every item the user has
not interacted with in ``train``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..sparse import CSRMatrix
from .dataset import DatasetError

__all__ = ["Interactions", "load_interactions", "read_user_items", "PARTS", "MAX_FILE_BYTES"]

PARTS = ("train", "valid", "test")
MAX_FILE_BYTES = 1 << 30  # a text file this large is not an interaction list we can hold
# Ids must be dense: a user or item id beyond this many times the number of lines (users) or
# entries (items), plus a margin, is a corrupt file (it would make us allocate for every id
# below it).
ID_SLACK, ID_MARGIN = 4, 1 << 16


@dataclass(frozen=True)
class Interactions:
    """``train``, ``valid`` and ``test``: ``(num_users, num_items)`` CSR matrices of ones,
    each row's item ids sorted and distinct."""

    name: str
    num_users: int
    num_items: int
    train: CSRMatrix
    valid: CSRMatrix
    test: CSRMatrix
    source: str = ""

    def part(self, name: str) -> CSRMatrix:
        if name not in PARTS:
            raise ValueError(f"part must be one of {PARTS}, got {name!r}")
        return getattr(self, name)

    def pairs(self, name: str) -> np.ndarray:
        """``(2, P)`` int64 (user, item) pairs of a part."""
        matrix = self.part(name)
        return np.stack([matrix.row_ids().astype(np.int64), matrix.indices.astype(np.int64)])

    def summary(self) -> dict:
        return {"name": self.name, "task": "recommendation", "users": self.num_users,
                "items": self.num_items, **{part: int(self.part(part).nnz) for part in PARTS}}

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v:,}" for k, v in self.summary().items()
                          if k not in ("name", "task"))
        return f"Interactions({self.name!r}, {parts})"


def read_user_items(path: str | os.PathLike) -> dict[int, np.ndarray]:
    """``{user: sorted distinct item ids}`` from one LightGCN-format file."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: missing interaction file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DatasetError(f"{path}: {path.stat().st_size:,} bytes is more than an interaction "
                           f"list may hold ({MAX_FILE_BYTES:,})")
    rows: dict[int, np.ndarray] = {}
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                ids = np.array(fields, dtype=np.int64)
            except (ValueError, OverflowError):
                raise DatasetError(f"{path}, line {number}: expected integer ids separated by "
                                   f"spaces") from None
            if ids.min() < 0 or ids.max() >= 1 << 31:
                raise DatasetError(f"{path}, line {number}: ids must lie in [0, 2**31)")
            user = int(ids[0])
            if user in rows:
                raise DatasetError(f"{path}, line {number}: user {user} has a second line")
            rows[user] = np.unique(ids[1:])
    return rows


def _matrix(rows: dict[int, np.ndarray], num_users: int, num_items: int) -> CSRMatrix:
    counts = np.zeros(num_users, dtype=np.int64)
    for user, items in rows.items():
        counts[user] = items.size
    indptr = np.concatenate([[0], np.cumsum(counts)])
    indices = np.empty(indptr[-1], dtype=np.int32)
    for user, items in rows.items():
        indices[indptr[user]:indptr[user + 1]] = items
    return CSRMatrix(indptr, indices, np.ones(indices.size, np.float32), (num_users, num_items))


def load_interactions(folder: str | os.PathLike, name: str | None = None) -> Interactions:
    """Read ``train.txt``, ``valid.txt`` and ``test.txt`` of ``folder``.

    Raises :class:`DatasetError` naming the file for a malformed line, ids that are not dense
    enough to be real (see ``ID_SLACK``), or a (user, item) pair in two parts.
    """
    folder = Path(folder)
    parts = {part: read_user_items(folder / f"{part}.txt") for part in PARTS}
    lines = sum(len(rows) for rows in parts.values())
    entries = sum(items.size for rows in parts.values() for items in rows.values())
    users = max((max(rows) for rows in parts.values() if rows), default=-1) + 1
    items = max((int(i.max()) for rows in parts.values() for i in rows.values() if i.size),
                default=-1) + 1
    if users > ID_SLACK * lines + ID_MARGIN or items > ID_SLACK * entries + ID_MARGIN:
        raise DatasetError(f"{folder}: ids up to {users - 1:,} (users) and {items - 1:,} (items) "
                           f"for {lines:,} lines and {entries:,} entries: ids must be dense")
    if users == 0 or parts["train"] == {}:
        raise DatasetError(f"{folder}: train.txt holds no interactions")
    matrices = {part: _matrix(rows, users, items) for part, rows in parts.items()}
    keys = [matrices[p].row_ids().astype(np.int64) * items + matrices[p].indices for p in PARTS]
    for (a, b) in ((0, 1), (0, 2), (1, 2)):
        shared = np.intersect1d(keys[a], keys[b])
        if shared.size:
            user, item = divmod(int(shared[0]), items)
            raise DatasetError(f"{folder}: {shared.size:,} (user, item) pairs are in both "
                               f"{PARTS[a]} and {PARTS[b]}, e.g. user {user}, item {item}")
    return Interactions(name or folder.name, users, items, matrices["train"], matrices["valid"],
                        matrices["test"], source=str(folder))
