"""Serving a recommender: top-k items for users, and scores of given pairs (numpy + numba only).

A retrieval index (``sparsegnn export`` of a LightGCN checkpoint, or
:func:`~sparsegnn.artifact.save_retrieval_index`) holds the final user and item embeddings,
precomputed, and each user's items seen in training. ``Recommender`` loads it once (the int8
copy of the catalogue and the seen sets are prepared and checked then) and answers

- ``recommend(users, k)``: each user's ``k`` best unseen items, best first, exactly (see
  :mod:`sparsegnn.kernels._topk`: an int8 scan bounds every score, float32 rescores the few
  items that can reach the top k);
- ``recommend_vectors(queries, k)``: the same for query embeddings (a new user);
- ``score(users, items)``: dot products of given pairs.

Example::

    from sparsegnn.runtime import Recommender
    recommender = Recommender("lightgcn.sgnn")
    items, scores = recommender.recommend([0, 17], k=20)
"""

from __future__ import annotations

import os

import numpy as np

from ..artifact import RetrievalIndex, load_retrieval_index
from ..kernels import item_sets, quantize_catalogue, top_k_inner_product
from ..kernels._topk import top_k_unchecked
from .allocator import keep_freed_memory
from .session import InputError

__all__ = ["Recommender"]

_NO_ROWS = np.zeros(0, np.int64)  # rows of a call that leaves nothing out


class Recommender:
    """Top-k retrieval over a retrieval index (a path, or a :class:`RetrievalIndex`).

    ``num_threads``: threads for batches of users (default: the kernels' setting).
    """

    def __init__(self, index: str | os.PathLike | RetrievalIndex, num_threads: int | None = None):
        if not isinstance(index, RetrievalIndex):
            index = load_retrieval_index(index)
        else:
            index.check(InputError)
        self.index = index
        self.num_threads = num_threads
        keep_freed_memory()  # once per process: batches reuse freed pages (runtime.allocator)
        # plain views of the mapped file: indexing a memmap subclass makes a memmap per call
        self._users, self._items = np.asarray(index.users), np.asarray(index.items)
        self.catalogue = quantize_catalogue(index.items)
        self.seen = item_sets(index.seen_indptr, index.seen_indices, index.items.shape[0])

    @property
    def num_users(self) -> int:
        return int(self.index.users.shape[0])

    @property
    def num_items(self) -> int:
        return int(self.index.items.shape[0])

    @property
    def metadata(self) -> dict:
        return self.index.metadata

    def _ids(self, values, limit: int, name: str) -> np.ndarray:
        array = np.asarray(values)
        if array.ndim == 0:
            array = array.reshape(1)
        if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
            raise InputError(f"{name} must be a 1-D array of integer ids, got {array.dtype} "
                             f"{array.shape}")
        array = array.astype(np.int64)
        if array.size and (array.min() < 0 or array.max() >= limit):
            raise InputError(f"{name} must lie in [0, {limit}), got ids from {array.min()} to "
                             f"{array.max()}")
        return array

    def _k(self, k) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= self.num_items:
            raise InputError(f"k must be an integer in [1, {self.num_items}], got {k!r}")
        return int(k)

    def recommend(self, users, k: int = 20, exclude_seen: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Each user's ``k`` best items by score, leaving out those seen in training.

        Returns ``items (len(users), k)`` int64 and ``scores`` float32, best first; a user who
        has seen all but fewer than ``k`` items gets id -1 (score -inf) in the remaining places.
        """
        users = self._ids(users, self.num_users, "users")
        k = self._k(k)
        # the embeddings were checked at load, the ids and k here: the kernel checks nothing
        return top_k_unchecked(self._users[users], self.catalogue, k, self.seen,
                               users if exclude_seen else _NO_ROWS, self.num_threads)

    def recommend_vectors(self, queries, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best items for query embeddings ``(Q, D)`` (nothing left out)."""
        queries = np.asarray(queries)
        if queries.ndim == 1:
            queries = queries[None, :]
        if queries.ndim != 2 or queries.shape[1] != self.index.items.shape[1] \
                or queries.dtype.kind != "f" or not np.all(np.isfinite(queries)):
            raise InputError(f"queries must be finite floats of shape (Q, "
                             f"{self.index.items.shape[1]}), got {queries.dtype} {queries.shape}")
        return top_k_inner_product(queries.astype(np.float32), self.catalogue, self._k(k),
                                   threads=self.num_threads)

    def score(self, users, items) -> np.ndarray:
        """Scores of the pairs ``(users[j], items[j])``. Shape ``(P,)`` float32."""
        users = self._ids(users, self.num_users, "users")
        items = self._ids(items, self.num_items, "items")
        if users.shape != items.shape:
            raise InputError(f"users and items must pair up, got {users.size} and {items.size}")
        return np.einsum("pd,pd->p", self._users[users], self._items[items])
