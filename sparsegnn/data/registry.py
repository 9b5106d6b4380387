"""Dataset names, where their files live under a data root, and how to load them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ._sources import FILES
from .dataset import Dataset, DatasetError
from .download import cache_dir, download_files

__all__ = ["DatasetSpec", "REGISTRY", "data_roots", "find_dataset", "load", "available",
           "load_recommendation"]

DATA_ENV = "SPARSEGNN_DATA"
PLANETOID_FILES = ("x", "y", "allx", "ally", "tx", "ty", "graph", "test.index")


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset: its format, its location relative to a data root, and a description."""

    name: str
    kind: str  # planetoid | npz | heterophilous | tu | ogb | recsys | synthetic
    location: str
    description: str

    def files(self) -> list[str]:
        """Data-root-relative paths of every file the loader reads."""
        if self.kind == "planetoid":
            folder, key = self.location.rsplit("/", 1)
            return [f"{folder}/ind.{key}.{part}" for part in PLANETOID_FILES]
        if self.kind in ("npz", "heterophilous"):
            return [self.location]
        if self.kind == "recsys":
            return [f"{self.location}/{part}.txt" for part in ("train", "valid", "test")]
        if self.kind in ("tu", "ogb"):
            return sorted(p for p in FILES if p.startswith(self.location + "/")
                          and not p.endswith((".md", "README.txt")) and "/mapping/" not in p)
        return []

    def present_in(self, root: Path) -> bool:
        files = self.files()
        return bool(files) and all((root / f).is_file() for f in files)


def _specs() -> dict[str, DatasetSpec]:
    specs = [
        DatasetSpec("cora", "planetoid", "planetoid/cora", "Cora citations, Planetoid public split"),
        DatasetSpec("citeseer", "planetoid", "planetoid/citeseer",
                    "CiteSeer citations, Planetoid public split"),
        DatasetSpec("cora-npz", "npz", "npz/cora.npz", "Cora (Shchur npz), 20 per class"),
        DatasetSpec("citeseer-npz", "npz", "npz/citeseer.npz", "CiteSeer (Shchur npz)"),
        DatasetSpec("cora-ml", "npz", "npz/cora_ml.npz", "Cora-ML (ppnp npz)"),
        DatasetSpec("polblogs", "npz", "npz/polblogs.npz", "Political blogs, no features"),
        DatasetSpec("amazon-photo", "npz", "npz_zipped/amazon-photo.zip", "Amazon Photo co-purchases"),
        DatasetSpec("amazon-computers", "npz", "npz_zipped/amazon-computers.zip",
                    "Amazon Computers co-purchases"),
        DatasetSpec("coauthor-cs", "npz", "npz_zipped/coauthor-cs.zip", "Coauthor CS"),
        DatasetSpec("coauthor-physics", "npz", "npz_zipped/coauthor-physics.zip",
                    "Coauthor Physics"),
    ]
    for stem in ("actor", "chameleon", "chameleon_filtered", "squirrel", "squirrel_filtered",
                 "cornell", "texas", "wisconsin", "minesweeper", "tolokers"):
        specs.append(DatasetSpec(stem.replace("_", "-"), "heterophilous",
                                 f"heterophilous/{stem}.npz", f"{stem} (heterophilous, 10 splits)"))
    for folder in ("MUTAG", "PTC_MR", "PROTEINS", "ENZYMES", "NCI1", "NCI109", "IMDB-BINARY",
                   "IMDB-MULTI"):
        specs.append(DatasetSpec(folder.lower().replace("_", "-"), "tu", f"tu/{folder}",
                                 f"{folder} (TU graph classification, 10 folds)"))
    for stem in ("molbace", "molbbbp", "molesol", "molfreesolv"):
        specs.append(DatasetSpec(f"ogbg-{stem}", "ogb", f"ogb/ogbg_{stem}",
                                 f"ogbg-{stem} (OGB molecules, scaffold split)"))
    specs.append(DatasetSpec("gowalla", "recsys", "recsys/gowalla",
                             "Gowalla check-ins, user-item (recommendation; load_interactions)"))
    specs.append(DatasetSpec("ml-1m", "recsys", "recsys/ml-1m",
                             "MovieLens-1M ratings, user-item (recommendation; load_interactions)"))
    specs.append(DatasetSpec("synthetic", "synthetic", "csbm",
                             "built-in contextual SBM, node classification (default)"))
    specs.append(DatasetSpec("synthetic-graphs", "synthetic", "graphs",
                             "built-in synthetic graph classification"))
    return {spec.name: spec for spec in specs}


REGISTRY = _specs()


def data_roots(root: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for datasets, in order.

    An explicit ``root`` is the only one searched. Otherwise: ``$SPARSEGNN_DATA``, the
    ``shared/datasets`` folder beside this checkout, ``../shared/datasets`` from the working
    directory, then the download cache.
    """
    if root is not None:
        return [Path(root)]
    roots = []
    if os.environ.get(DATA_ENV):
        roots.append(Path(os.environ[DATA_ENV]))
    checkout = Path(__file__).resolve().parents[2]
    roots += [checkout.parent / "shared" / "datasets", Path.cwd().parent / "shared" / "datasets",
              cache_dir()]
    unique = []
    for candidate in roots:
        if candidate not in unique:
            unique.append(candidate)
    return unique


def find_dataset(name: str, root=None) -> Path | None:
    """The first data root that holds every file of ``name``, or None."""
    spec = REGISTRY[name]
    if spec.kind == "synthetic":
        return None
    for candidate in data_roots(root):
        if spec.present_in(candidate):
            return candidate
    return None


def available(root=None) -> list[tuple[DatasetSpec, Path | None]]:
    """Every registered dataset with the root it was found under (None if absent)."""
    return [(spec, find_dataset(spec.name, root) if spec.kind != "synthetic" else None)
            for spec in REGISTRY.values()]


def _as_dataset_error(load_it, where) -> Dataset:
    """Run a loader; what its files get wrong is a DatasetError naming them, whatever check
    (graph, sparse matrix, numpy) caught it first."""
    try:
        return load_it()
    except DatasetError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, MemoryError,
            RecursionError) as exc:
        raise DatasetError(f"{where}: malformed dataset files ({type(exc).__name__}: "
                           f"{exc})") from None


def _load_file(spec: DatasetSpec, root: Path, seed: int) -> Dataset:
    from .npz import load_heterophilous, load_shchur_npz
    from .ogb import load_ogb_mol
    from .planetoid import load_planetoid
    from .tu import load_tu

    path = root / spec.location
    if spec.kind == "planetoid":
        folder, key = spec.location.rsplit("/", 1)
        dataset = load_planetoid(root / folder, key)
    elif spec.kind == "npz":
        dataset = load_shchur_npz(path, spec.name, seed=seed)
    elif spec.kind == "heterophilous":
        dataset = load_heterophilous(path, spec.name)
    elif spec.kind == "tu":
        dataset = load_tu(path, path.name, seed=seed)
    else:
        dataset = load_ogb_mol(path, spec.name)
    dataset.name = spec.name
    return dataset


def _load_path(path: Path, seed: int) -> Dataset:
    from .npz import load_heterophilous, load_shchur_npz, read_npz
    from .ogb import load_ogb_mol
    from .planetoid import load_planetoid
    from .tu import load_tu

    if path.is_dir():
        planetoid = sorted(path.glob("ind.*.x"))
        if planetoid:
            return load_planetoid(path, planetoid[0].name[len("ind."):-len(".x")])
        tu = sorted(path.glob("*_graph_indicator.txt"))
        if tu:
            return load_tu(path, tu[0].name[: -len("_graph_indicator.txt")], seed=seed)
        if (path / "raw" / "num-node-list.csv.gz").is_file():
            return load_ogb_mol(path, path.name)
        raise DatasetError(f"{path}: no Planetoid, TU or OGB files found in this folder")
    if path.suffix in (".npz", ".zip"):
        if path.suffix == ".npz" and "node_features" in read_npz(path):
            return load_heterophilous(path, path.stem)
        return load_shchur_npz(path, path.stem, seed=seed)
    raise DatasetError(f"{path}: unknown dataset format (expected a folder, .npz or .zip)")


def _locate(spec: DatasetSpec, root, download: bool, mirror: str | None) -> Path:
    """The data root holding ``spec``'s files, downloading them when asked."""
    found = find_dataset(spec.name, root)
    if found is None and download:
        found = download_files(spec.files(), root if root is not None else None, mirror=mirror)
    if found is None:
        searched = ", ".join(str(r) for r in data_roots(root))
        raise DatasetError(
            f"dataset {spec.name!r} not found (looked for {spec.files()[0]} under: {searched}); "
            f"pass --data-dir / root=, set ${DATA_ENV}, or download it"
        )
    return found


def load_recommendation(name_or_path: str | os.PathLike, root=None, *, download: bool = False,
                        mirror: str | None = None):
    """Load a user-item interaction set (:class:`~sparsegnn.data.recsys.Interactions`) by
    registered name (``gowalla``, ``ml-1m``) or folder path; arguments as :func:`load`."""
    from .recsys import load_interactions

    key = str(name_or_path).lower()
    if key in REGISTRY:
        spec = REGISTRY[key]
        if spec.kind != "recsys":
            raise DatasetError(f"{key!r} is not a user-item interaction set (those are: "
                               f"{', '.join(n for n, s in REGISTRY.items() if s.kind == 'recsys')})")
        found = _locate(spec, root, download, mirror)
        folder = found / spec.location
    else:
        folder = Path(name_or_path)
        if not folder.is_dir():
            raise DatasetError(f"{folder}: not a registered interaction set or a folder holding "
                               f"train.txt, valid.txt and test.txt")
    try:
        return load_interactions(folder, key if key in REGISTRY else None)
    except DatasetError:
        raise
    except (ValueError, MemoryError) as exc:
        raise DatasetError(f"{folder}: malformed interaction files ({exc})") from None


def load(name_or_path: str | os.PathLike, root=None, seed: int = 0, *, download: bool = False,
         mirror: str | None = None) -> Dataset:
    """Load a dataset by registered name (see :data:`REGISTRY`) or by path.

    Parameters
    ----------
    name_or_path : str or path
        A registered name such as ``"cora"``, ``"mutag"``, ``"synthetic"``, or a file/folder.
    root : path, optional
        Data root laid out like ``shared/datasets``; see :func:`data_roots` for the default.
    seed : int
        Seed for generated splits (per-class splits, folds) and synthetic data.
    download : bool
        Fetch missing files into the cache (checked against their sha256) instead of failing.
    mirror : str, optional
        Base URL laid out like the data root to download from instead of the public sources.
    """
    key = str(name_or_path).lower()
    if key in REGISTRY:
        spec = REGISTRY[key]
        if spec.kind == "synthetic":
            from .synthetic import csbm, synthetic_graphs

            return csbm(seed=seed) if spec.location == "csbm" else synthetic_graphs(seed=seed)
        if spec.kind == "recsys":
            raise DatasetError(f"{key!r} is a user-item interaction set: load it with "
                               f"sparsegnn.data.load_recommendation (train --task recommend)")
        found = _locate(spec, root, download, mirror)
        return _as_dataset_error(lambda: _load_file(spec, found, seed), found)
    path = Path(name_or_path)
    if path.exists():
        return _as_dataset_error(lambda: _load_path(path, seed), path)
    names = ", ".join(REGISTRY)
    raise DatasetError(f"unknown dataset {str(name_or_path)!r}: not a file or folder, and not one "
                       f"of the registered names ({names})")
