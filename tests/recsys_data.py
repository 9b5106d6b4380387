"""A small user-item set with structure, written in the LightGCN text format (tests only)."""

from pathlib import Path

import numpy as np


def write_clustered_interactions(folder: Path, users: int = 80, items: int = 60,
                                 per_user: int = 12, seed: int = 0) -> Path:
    """Users of group g mostly interact with items of group g (three groups); each user's
    items are split 70 / 10 / 20 into train, valid and test. Returns ``folder``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    groups = 3
    lines = {"train": [], "valid": [], "test": []}
    for user in range(users):
        group = user % groups
        own = np.arange(items)[np.arange(items) % groups == group]
        chosen = rng.choice(own, size=per_user - 2, replace=False)
        chosen = np.unique(np.r_[chosen, rng.choice(items, size=2, replace=False)])
        rng.shuffle(chosen)
        cut_train, cut_valid = int(0.7 * chosen.size), int(0.8 * chosen.size)
        for part, ids in (("train", chosen[:cut_train]), ("valid", chosen[cut_train:cut_valid]),
                          ("test", chosen[cut_valid:])):
            if ids.size:
                lines[part].append(" ".join(str(v) for v in (user, *ids.tolist())))
    for part, rows in lines.items():
        (folder / f"{part}.txt").write_text("\n".join(rows) + "\n")
    return folder
