"""What the runtime knows about the machine it runs on: the cost of each kernel family and the
size thresholds the session plans with, in one object.

The session prices every product ``x @ M`` with each kernel that can compute it and runs the
cheapest (``runtime.planner``). The prices are linear in the work each kernel does, with one
coefficient per kind of work, in nanoseconds with the kernels' default threads:

=================================  =========================================================
kernel                             predicted time
=================================  =========================================================
BLAS (``x @ M``, dense)            ``blas_call + rows * inputs * outputs * dense_madd``
                                   (only for products BLAS runs on one thread, see
                                   ``planner``)
node panels (unstructured)         ``kernel_call + rows * stored * panel_madd + rows *
                                   (inputs + outputs) * panel_element`` (entries of 4
                                   outputs: ``panel_block_madd`` per stored value)
output vectors (output blocks)     ``kernel_call + rows * stored_vectors * lanes *
                                   vector_madd + rows * outputs * vector_element``
CSR features x dense ``M``         ``entries * outputs * spmm_madd``
the same, empty rows of ``M``      ``entries * (csr_narrow + live * outputs * spmm_madd)``
dropped first                      (``live``: the share of ``M``'s rows with a nonzero)
a sparse kernel on CSR features    its dense-input price, with ``rows * inputs * csr_fill
                                   + entries * csr_expand`` for expanding the rows instead of
                                   reading them
=================================  =========================================================

``sparsegnn tune`` (``calibrate``) measures the coefficients on the machine and caches them
per machine (``tuning_path``); a ``Session`` uses the cached ones, else ``DEFAULT`` (measured
on the development machine, see ``docs/architecture.md``), unless the app passes its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._fileio import atomic_write_text

__all__ = ["Tuning", "TuningError", "DEFAULT", "MEASURED", "calibrate", "load_tuning",
           "save_tuning", "tuning_path", "machine_key", "median_seconds"]

FORMAT = "sparsegnn.tuning"
FORMAT_VERSION = 1


class TuningError(ValueError):
    """A tuning file or value is malformed."""


@dataclass(frozen=True)
class Tuning:
    """Kernel prices (nanoseconds per unit of work, see the module docstring) and thresholds.

    Attributes
    ----------
    dense_madd, panel_madd, panel_block_madd, panel_element, vector_madd, vector_element,
    spmm_madd, csr_narrow, csr_fill, csr_expand, blas_call, kernel_call :
        The cost model's coefficients (the last two per call, from Python). ``csr_expand``,
        per stored feature value expanded into a panel's rows and cleared again, was measured
        on the AVX2 development machine (the others' defaults on the AVX-512 one): before it,
        the expansion was priced per element only, and 35 %-dense features (Amazon Computers)
        ran expanded, slower than gathered.
    csr_input_max_density :
        Advice to apps for a model whose first op applies no weight to the features (else
        ``Session.csr_input_max_density`` prices the first weights): sparse features up to
        this density run faster given as CSR than dense (bench/csr_input_crossover.py).
    csr_input_expand_density :
        A CSR ``x`` denser than this is expanded to dense on arrival.
    program_max_nodes, program_max_edges :
        Inputs up to this size run as one compiled call of the whole model
        (bench/small_graph_path.py).
    blas_threaded_work :
        Multiply-adds up to which BLAS multiplies on one thread (OpenBLAS'
        ``GEMM_MULTITHREAD_THRESHOLD x SMP_THRESHOLD_MIN``): larger products go to the
        session's own kernels, because BLAS's spinning worker threads slow every kernel that
        runs after it (bench/kernel_parts.py).

    Kernel-level constants that Numba compiles in (the pool's minimum work per thread, SpMM's
    prefetch distance, the output vectors' row panel) stay in ``sparsegnn.kernels``.
    machine : dict
        Where the figures were measured (empty for hand-made tunings).
    """

    dense_madd: float = 0.0132
    panel_madd: float = 0.0096
    panel_block_madd: float = 0.0053
    panel_element: float = 0.22
    vector_madd: float = 0.0074
    vector_element: float = 0.32
    spmm_madd: float = 0.05
    csr_narrow: float = 1.0
    csr_fill: float = 0.13
    csr_expand: float = 2.1
    blas_call: float = 980.0
    kernel_call: float = 6800.0
    csr_input_max_density: float = 0.2
    csr_input_expand_density: float = 0.5
    program_max_nodes: int = 1024
    program_max_edges: int = 32768
    blas_threaded_work: int = 4 * 65536
    machine: dict = dataclasses.field(default_factory=dict, compare=False)

    def __post_init__(self):
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if spec.name == "machine":
                if not isinstance(value, dict):
                    raise TuningError(f"machine must be a dict, got {type(value).__name__}")
            elif spec.type in ("int", int):
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise TuningError(f"{spec.name} must be a non-negative integer, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value <= 0:
                raise TuningError(f"{spec.name} must be a positive finite number, got {value!r}")
        for name in ("csr_input_max_density", "csr_input_expand_density"):
            if getattr(self, name) > 1:
                raise TuningError(f"{name} is a density in (0, 1], got {getattr(self, name)}")

    def replace(self, **changes) -> Tuning:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data) -> Tuning:
        if not isinstance(data, dict):
            raise TuningError(f"a tuning must be a JSON object, got {type(data).__name__}")
        known = {spec.name for spec in dataclasses.fields(cls)}
        data = {name: value for name, value in data.items() if name not in RETIRED}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TuningError(f"unknown tuning fields {unknown}; expected some of {sorted(known)}")
        return cls(**data)


DEFAULT = Tuning()
# Fields older tunings hold that no longer mean anything: ignored when a file is read (the
# session now prices its first weights for the CSR-features advice).
RETIRED = ("csr_input_max_density_wide", "wide_outputs")


# ----------------------------------------------------------------------------- the cache
def machine_key() -> str:
    """CPU model, SIMD width, architecture and CPU count: a tuning measured on one machine
    applies to another with the same key."""
    from ..kernels._intrinsics import VECTOR_BYTES

    try:
        import llvmlite.binding as llvm

        cpu = llvm.get_host_cpu_name()
    except (ImportError, RuntimeError):  # pragma: no cover - llvmlite ships with numba
        cpu = platform.processor() or "unknown"
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    text = f"{platform.machine()}-{cpu}-{VECTOR_BYTES * 8}bit-{threads}cpu"
    return f"{text}-{hashlib.sha256(_cpu_model().encode()).hexdigest()[:8]}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def tuning_path() -> Path:
    """``$SPARSEGNN_CACHE`` (default ``~/.cache/sparsegnn``) ``/tuning/<machine_key>.json``."""
    root = os.environ.get("SPARSEGNN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                             "sparsegnn")
    return Path(root) / "tuning" / f"{machine_key()}.json"


def save_tuning(tuning: Tuning, path: str | os.PathLike | None = None) -> Path:
    """Write ``tuning`` as JSON, atomically (default: this machine's cache file)."""
    path = Path(path) if path is not None else tuning_path()
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "tuning": tuning.to_json()}
    return atomic_write_text(path, json.dumps(document, indent=2))


def load_tuning(path: str | os.PathLike | None = None) -> Tuning:
    """The tuning in ``path``; without a path, this machine's cached one, else ``DEFAULT``.

    A file that exists but is malformed raises :class:`TuningError` naming it."""
    explicit = path is not None
    path = Path(path) if explicit else tuning_path()
    if not path.is_file():
        if explicit:
            raise TuningError(f"{path}: no such tuning file")
        return DEFAULT
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TuningError(f"{path}: not a readable tuning file ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise TuningError(f"{path}: expected format {FORMAT!r}")
    if document.get("format_version") != FORMAT_VERSION:
        raise TuningError(f"{path}: format version {document.get('format_version')!r} is not "
                          f"supported (this sparsegnn reads {FORMAT_VERSION})")
    try:
        return Tuning.from_json(document.get("tuning"))
    except (TuningError, TypeError) as exc:
        raise TuningError(f"{path}: {exc}") from None


# ----------------------------------------------------------------------------- calibration
def median_seconds(call: Callable[[], object], repeat: int = 20) -> float:
    """Median wall time of ``call()`` over ``repeat`` runs, after one warm-up run (compilation,
    caches, page faults). The benchmark scripts time with it too."""
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def _masked(rng, shape, density: float, block: int = 1) -> np.ndarray:
    """A random float32 matrix keeping about ``density`` of its entries, in runs of ``block``
    consecutive columns."""
    rows, cols = shape
    keep = rng.random((rows, -(-cols // block))) < density
    mask = np.repeat(keep, block, axis=1)[:, :cols]
    return (rng.standard_normal(shape) * mask).astype(np.float32)


def _masked_csr(rng, shape, density: float):
    """``_masked``'s matrix as CSR arrays: ``(indptr int64, indices int32, data float32)``."""
    matrix = _masked(rng, shape, density)
    row_ids, columns = np.nonzero(matrix)
    indptr = np.concatenate([[0], np.cumsum(np.count_nonzero(matrix, axis=1))])
    return indptr.astype(np.int64), columns.astype(np.int32), matrix[row_ids, columns]


MEASURED = ("dense_madd", "panel_madd", "panel_block_madd", "panel_element", "vector_madd",
            "vector_element", "spmm_madd", "csr_narrow", "csr_fill", "csr_expand", "blas_call",
            "kernel_call")


def calibrate(rows: int = 8192, repeat: int = 15, progress: Callable[[str], None] | None = None,
              seed: int = 0, rounds: int = 1) -> Tuning:
    """Measure the cost model's coefficients here, on synthetic layers of ``rows`` nodes.

    Each sparse kernel is timed at four densities of a 256 x 256 layer (an unstructured weight
    for node panels, one-vector output blocks for output vectors) and the two unknowns of its
    price are fitted by least squares; CSR features are 2 % dense over 1,024 inputs (and 30 %
    too for the price of expanding them, per element and per stored value); BLAS and
    the per-call costs are timed on products that BLAS keeps on one thread. Takes a few
    seconds per round after the kernels are compiled. With ``rounds`` > 1, each coefficient is
    the median of the rounds' fits: one busy spell of a shared machine skews a round (a
    node-panel price twice the others' was seen here). The session's thresholds keep their
    defaults.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    fits = [_calibrate_once(rows, repeat, progress if r == 0 else None, seed)
            for r in range(rounds)]
    medians = {name: float(np.median([getattr(fit, name) for fit in fits]))
               for name in MEASURED}
    return fits[0].replace(**medians)


def _calibrate_once(rows: int, repeat: int, progress: Callable[[str], None] | None,
                    seed: int) -> Tuning:
    from ..kernels._config import ACTIVATIONS
    from ..kernels._convert import live_rows
    from ..kernels._intrinsics import VECTOR_BYTES
    from ..kernels._memory import aligned_empty
    from ..kernels._sparse_linear import (
        pack_node_panels,
        pack_output_vectors,
        sparse_linear_unchecked,
    )
    from ..kernels._spmm import spmm_csr_unchecked

    report = progress or (lambda message: None)
    rng = np.random.default_rng(seed)
    lanes = VECTOR_BYTES // 4
    width = 256
    x = aligned_empty((rows, width), np.float32)
    x[:] = rng.standard_normal((rows, width))
    epilogue = (np.empty(0, np.float32), False, ACTIVATIONS["identity"], 0.0)

    report("BLAS and calls")
    # BLAS runs in the session only where it stays on one thread: a 64 x 64 x 64 product, and a
    # 1-row one for the call itself.
    small, square = x[:64, :64], rng.standard_normal((64, 64)).astype(np.float32)
    blas_call = median_seconds(lambda: x[:1, :64] @ square, repeat * 20) * 1e9
    dense_madd = max(median_seconds(lambda: small @ square, repeat * 20) * 1e9 - blas_call,
                     1.0) / 64 ** 3
    one_row = pack_output_vectors(square)
    kernel_call = median_seconds(lambda: sparse_linear_unchecked(x[:1, :64], one_row, epilogue),
                                  repeat * 20) * 1e9

    def fit(points, elements):
        """Least-squares ``time = madd * work + element * elements`` through the measured
        ``(work, time)`` points (both coefficients kept positive)."""
        work, times = (np.array(column, np.float64) for column in zip(*points))
        design = np.stack([work, np.full_like(work, elements)], axis=1)
        (madd, element), *_ = np.linalg.lstsq(design, times, rcond=None)
        return max(float(madd), 1e-6), max(float(element), 1e-6)

    def measure(pack, densities, block):
        """``(work, ns)`` per density: ``work`` is rows x stored values."""
        points = []
        for density in densities:
            weight = pack(_masked(rng, (width, width), density, block))
            seconds = median_seconds(
                lambda weight=weight: sparse_linear_unchecked(x, weight, epilogue), repeat)
            points.append((rows * weight.values.size, seconds * 1e9))
        return points

    report("node panels")
    panel_madd, panel_element = fit(measure(pack_node_panels, (0.02, 0.1, 0.3, 0.6), 1),
                                    rows * 2 * width)
    # entries of 4 outputs (the widest block the planner packs), on 1x8 blocks, the element
    # cost as above: one unknown
    blocks = measure(lambda matrix: pack_node_panels(matrix, 1, 4), (0.05, 0.2, 0.5), 8)
    panel_block_madd = max(float(np.median([(t - rows * 2 * width * panel_element) / work
                                            for work, t in blocks])), 1e-6)
    report("output vectors")
    vector_madd, vector_element = fit(measure(pack_output_vectors, (0.05, 0.3, 0.6, 1.0), lanes),
                                      rows * width)

    report("CSR features")
    wide = 1024
    indptr, indices, data = _masked_csr(rng, (rows, wide), 0.02)
    narrow = rng.standard_normal((wide, 64)).astype(np.float32)
    spmm = median_seconds(lambda: spmm_csr_unchecked(indptr, indices, data, narrow, rows, 0,
                                                      epilogue, None), repeat) * 1e9
    spmm_madd = spmm / (data.size * 64)
    # dropping the entries of every other input (an empty weight row), per entry read
    remap = np.where(np.arange(wide) % 2 == 0, np.arange(wide) // 2, -1).astype(np.int32)
    live = (np.empty(rows + 1, np.int64), np.empty(data.size + 1, np.int32),
            np.empty(data.size + 1, np.float32))
    csr_narrow = median_seconds(lambda: live_rows(indptr, indices, data, remap, True, 0, rows,
                                                  *live), repeat) * 1e9 / data.size
    # the node panels on CSR features expanded a panel of rows at a time, at two densities:
    # what each element of the expanded rows costs, and each stored value on top
    weight = pack_node_panels(_masked(rng, (wide, 64), 0.01))
    known = rows * weight.values.size * panel_madd + rows * 64 * panel_element
    expansions = []
    for density in (0.02, 0.3):
        csr = (*_masked_csr(rng, (rows, wide), density), wide)
        seconds = median_seconds(lambda csr=csr: sparse_linear_unchecked(csr, weight, epilogue),
                                 repeat)
        expansions.append((csr[1].size, seconds * 1e9 - known))
    (sparse_entries, sparse_ns), (dense_entries, dense_ns) = expansions
    csr_expand = max((dense_ns - sparse_ns) / (dense_entries - sparse_entries), 1e-6)
    csr_fill = max((sparse_ns - sparse_entries * csr_expand) / (rows * wide), 1e-6)

    return Tuning(dense_madd=dense_madd, blas_call=blas_call, kernel_call=kernel_call,
                  panel_madd=panel_madd, panel_block_madd=panel_block_madd,
                  panel_element=panel_element,
                  vector_madd=vector_madd, vector_element=vector_element, spmm_madd=spmm_madd,
                  csr_narrow=csr_narrow, csr_fill=csr_fill, csr_expand=csr_expand,
                  machine={"key": machine_key(), "cpu": _cpu_model(), "rows": rows,
                           "measured": time.strftime("%Y-%m-%dT%H:%M:%S")})
