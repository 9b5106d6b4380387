"""Precompiled kernels: Numba's on-disk cache, made relocatable and shippable as a bundle.

Numba compiles a kernel specialisation at its first call and caches the machine code on disk,
keyed by the kernel's source (a content hash), its signature and the CPU target (LLVM CPU name
and features). Two things tie a plain cache to one machine: its folder is derived from the
absolute path of the installed sources, and its target is this CPU. A bundle removes both:

* ``sparsegnn compile`` (``runtime.compile_kernels``) runs the kernels that artifacts need in a
  child process whose target is pinned to a named CPU (``x86-64-v3`` by default: AVX2 and FMA,
  every x86-64 server since 2013) and whose cache files are laid out by module path relative to
  the package, then writes ``bundle.json`` beside them.
* At import (``sparsegnn.kernels`` calls :func:`activate` before any kernel module), the
  runtime finds a bundle (``$SPARSEGNN_KERNELS``, else ``sparsegnn/_precompiled`` when a wheel
  ships one), checks that it was built by this sparsegnn, Numba and Python and that this CPU
  has the target's features, pins Numba to the same target and copies the bundle's new files
  into a writable cache folder (``$SPARSEGNN_KERNEL_CACHE``, else the user cache), from which
  Numba loads them instead of compiling. A specialisation the bundle lacks compiles there as
  usual. A bundle it cannot use is named in a one-line warning, and the runtime compiles for
  this CPU instead; :data:`STATUS` says which happened (``inspect`` and ``bench`` print it).

A bundle is machine code, like a wheel: ship only bundles you built. Numba's cache files are
pickles, so the runtime never loads one from anywhere but the folders named above.

Numba keys a cached function by its own module's source only, but a kernel compiles in the
intrinsics and helpers of other kernel modules (``_intrinsics``, ``_epilogue``...). So
:func:`activate` also stamps every kernel's cache entry, bundled or not, with a hash of all
the kernel modules' sources (:func:`kernel_sources_digest`): an edit to any of them, or an
upgrade that changes only one, compiles the kernels again instead of loading machine code
built from the old sources.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import os
import platform
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from ._start_up import RUNTIME_FILE

__all__ = ["STATUS", "KernelStatus", "PrecompiledKernelsWarning", "TARGETS", "BUNDLE_ENV",
           "CACHE_ENV", "MANIFEST", "activate", "cache_root", "is_cache_file",
           "kernel_sources_digest", "neutral_environment", "target_features"]

BUNDLE_ENV = "SPARSEGNN_KERNELS"
CACHE_ENV = "SPARSEGNN_KERNEL_CACHE"
BUILD_ENV = "SPARSEGNN_KERNEL_BUILD"  # set by compile_kernels in its child: "target:folder"
MANIFEST = "bundle.json"
FORMAT = "sparsegnn.kernels"
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
KERNEL_SOURCES = Path(__file__).resolve().parent  # every jitted function lives here
SHIPPED_BUNDLE = PACKAGE_ROOT / "_precompiled"
RUNTIME_FILE_PATTERN = RUNTIME_FILE.format(key="*")

# Named targets and the host CPU features (LLVM's names) each needs. The x86-64 levels are the
# psABI's microarchitecture levels; "generic" is the architecture's baseline (x86-64 or
# aarch64), which every CPU of that architecture runs.
_V2 = ("sse4.2", "popcnt", "ssse3", "cx16")
_V3 = _V2 + ("avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave")
TARGETS = {"generic": (), "x86-64-v2": _V2, "x86-64-v3": _V3,
           "x86-64-v4": _V3 + ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl")}


class PrecompiledKernelsWarning(RuntimeWarning):
    """A kernel bundle was found but cannot be used here (the kernels compile instead)."""


@dataclass
class KernelStatus:
    """Where this process's kernels come from.

    ``source``: "bundle" (precompiled, loaded from ``bundle``), "jit" (compiled on first use
    for ``target``, cached by Numba), or "build" (a ``compile_kernels`` child). ``note`` says
    why a bundle was not used, when one was found."""

    source: str = "jit"
    target: str = "host"
    bundle: str | None = None
    cache: str | None = None
    note: str = ""

    def describe(self) -> str:
        """One line for ``inspect`` and ``bench``."""
        if self.source == "bundle":
            return f"kernels: precompiled for {self.target} (bundle {self.bundle})"
        if self.source == "build":
            return f"kernels: compiling a bundle for {self.target} into {self.cache}"
        line = "kernels: compiled on first use for this CPU (no precompiled bundle)"
        return f"{line}; {self.note}" if self.note else line


STATUS = KernelStatus()


# The environment variables that decide where kernels come from and what they are built for.
KERNEL_ENVIRONMENT = (BUNDLE_ENV, CACHE_ENV, BUILD_ENV, "NUMBA_CACHE_DIR", "NUMBA_CPU_NAME",
                      "NUMBA_CPU_FEATURES")


def neutral_environment(**settings: str) -> dict[str, str]:
    """This process's environment without ``KERNEL_ENVIRONMENT``, plus ``settings``: for a
    child process whose kernel source and target must be exactly the ones given."""
    environment = {key: value for key, value in os.environ.items()
                   if key not in KERNEL_ENVIRONMENT}
    return environment | settings


def _pin_target(target: str) -> None:
    """Make Numba compile for ``target`` (and key its cache by it) before anything compiles."""
    from numba.core import config

    os.environ["NUMBA_CPU_NAME"] = target
    os.environ["NUMBA_CPU_FEATURES"] = ""  # the features the CPU name implies, nothing more
    config.reload_config()


@functools.cache
def host_features() -> frozenset[str]:
    """The host CPU's feature names as LLVM gives them (none where LLVM cannot read them:
    the baseline only)."""
    import llvmlite.binding as llvm

    try:
        return frozenset(name for name, on in llvm.get_host_cpu_features().items() if on)
    except RuntimeError:
        return frozenset()


def target_features() -> frozenset[str]:
    """The features of the CPU Numba compiles for: the host's, unless ``NUMBA_CPU_NAME``
    names a target; then the ones ``TARGETS`` lists for it (none for a name it does not list)
    with ``NUMBA_CPU_FEATURES``' ``+name`` / ``-name`` applied. Numba keys its cache by the
    same name and features, so what the kernels derive from these (their SIMD width, the
    float32 exp's range reduction) always matches the cached code."""
    from numba.core import config

    if config.CPU_NAME is None:
        return host_features()
    features = set(TARGETS.get(config.CPU_NAME, ()))
    for item in (config.CPU_FEATURES or "").split(","):
        item = item.strip()
        if item[:1] == "+":
            features.add(item[1:])
        elif item[:1] == "-":
            features.discard(item[1:])
    return frozenset(features)


def _host() -> tuple[str, frozenset[str]]:
    """``(LLVM target triple, the host CPU's feature names)``."""
    import llvmlite.binding as llvm

    return llvm.get_process_triple(), host_features()


def _runtime_versions() -> dict:
    import numba

    from .. import __version__

    return {"sparsegnn": __version__, "numba": numba.__version__,
            "python": f"{sys.version_info.major}.{sys.version_info.minor}"}


def cache_root(bundle_manifest: dict) -> Path:
    """The writable folder a bundle's kernels are copied to and loaded from."""
    base = os.environ.get(CACHE_ENV)
    if base is None:
        home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(home, "sparsegnn", "kernels")
    key = "-".join([bundle_manifest["sparsegnn"], f"py{bundle_manifest['python']}",
                    bundle_manifest["triple"], bundle_manifest["target"]])
    return Path(base) / key


@functools.cache
def kernel_sources_digest(folder: Path = KERNEL_SOURCES) -> str:
    """A hash of the source of every module in ``folder`` (the kernels')."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.cache
def _is_kernel_source(py_file: str) -> bool:
    """Whether ``py_file`` is a kernel module (asked once per module, not per function)."""
    return os.path.dirname(os.path.realpath(py_file)) == str(KERNEL_SOURCES)


class _KernelSourcesStamp:
    """A Numba cache locator mixin for the kernels only: the freshness stamp of a cached
    kernel is its module's stamp and ``kernel_sources_digest()``, so that a change to any
    kernel module invalidates every kernel (Numba's own stamp misses changes to the modules
    whose code a kernel compiles in)."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if not _is_kernel_source(py_file):
            return None
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return super().get_source_stamp(), kernel_sources_digest()


def _stamp_kernel_caches() -> None:
    """Put a ``_KernelSourcesStamp`` version of each of Numba's cache locators before the
    originals: kernels keep Numba's cache folders, other jitted code Numba's locators."""
    from numba.core.caching import CacheImpl

    locators = CacheImpl._locator_classes
    if any(issubclass(locator, _KernelSourcesStamp) for locator in locators):
        return
    locators[:0] = [type(f"Kernel{locator.__name__}", (_KernelSourcesStamp, locator), {})
                    for locator in locators]


def _install_locator(root: Path) -> None:
    """Put sparsegnn's kernels' cache files under ``root``, by module path relative to the
    package (other jitted code keeps Numba's own locations: ``_KernelSourcesStamp`` takes only
    kernel modules)."""
    from numba.core.caching import CacheImpl, _CacheLocator, _SourceFileBackedLocatorMixin

    class _PackageRelativeLocator(_KernelSourcesStamp, _SourceFileBackedLocatorMixin,
                                  _CacheLocator):
        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            relative = Path(py_file).resolve().parent.relative_to(PACKAGE_ROOT)
            self._cache_path = str(root / relative)

        def get_cache_path(self):
            return self._cache_path

    CacheImpl._locator_classes.insert(0, _PackageRelativeLocator)


def _read_manifest(bundle: Path) -> dict:
    manifest = json.loads((bundle / MANIFEST).read_text())
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{bundle / MANIFEST} is not a sparsegnn kernel bundle")
    return manifest


def _unusable(manifest: dict) -> str | None:
    """Why this process cannot use a bundle described by ``manifest``, or None."""
    ours = _runtime_versions()
    for key, value in ours.items():
        if manifest.get(key) != value:
            return f"it was built with {key} {manifest.get(key)}, this is {value}"
    triple, features = _host()
    if manifest.get("triple") != triple:
        return f"it targets {manifest.get('triple')}, this CPU is {triple}"
    target = manifest.get("target")
    if target not in TARGETS:
        return f"its target {target!r} is not one of {sorted(TARGETS)}"
    missing = sorted(set(TARGETS[target]) - features)
    if missing:
        return f"its target {target} needs CPU features this CPU lacks: {', '.join(missing)}"
    return None


def is_cache_file(path: Path) -> bool:
    """A file of the kernels' cache that a bundle ships: Numba's index and data files, and
    the NRT module's object code (``_start_up``)."""
    return path.suffix in (".nbi", ".nbc") or fnmatch.fnmatch(path.name, RUNTIME_FILE_PATTERN)


def _seed(bundle: Path, root: Path) -> None:
    """Copy the bundle's cache files that ``root`` lacks (never overwrite: an index there may
    already list kernels compiled since), then its manifest, whose copy tells later processes
    that this bundle was seeded (they skip the walk over its files)."""
    manifest = (bundle / MANIFEST).read_bytes()
    seeded = root / MANIFEST
    if seeded.is_file() and seeded.read_bytes() == manifest:
        return
    for source in bundle.rglob("*"):
        if not is_cache_file(source):
            continue
        target = root / source.relative_to(bundle)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)  # a concurrent reader sees a whole file or none
    root.mkdir(parents=True, exist_ok=True)
    temporary = seeded.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
    temporary.write_bytes(manifest)
    os.replace(temporary, seeded)


def activate() -> KernelStatus:
    """Choose where the kernels come from, before any of them is imported (see the module
    docstring). Idempotent."""
    global STATUS
    if STATUS.source != "jit" or STATUS.note:
        return STATUS
    _stamp_kernel_caches()
    build = os.environ.get(BUILD_ENV)
    if build:
        target, _, folder = build.partition(":")
        _pin_target(target)
        _install_locator(Path(folder))
        STATUS = KernelStatus("build", target, cache=folder)
        return STATUS
    configured = os.environ.get(BUNDLE_ENV)
    bundle = Path(configured) if configured else SHIPPED_BUNDLE
    if not configured and not (bundle / MANIFEST).is_file():
        return STATUS  # nothing shipped: compile on first use, as Numba does
    try:
        manifest = _read_manifest(bundle)
        reason = _unusable(manifest)
    except (OSError, ValueError) as exc:
        reason = f"it cannot be read ({exc})"
    if reason is None:
        root = cache_root(manifest)
        try:
            _seed(bundle, root)
        except OSError as exc:
            reason = f"its kernels cannot be copied to {root} ({exc}); set {CACHE_ENV}"
    if reason is not None:
        STATUS = KernelStatus(note=f"the bundle {bundle} is not used: {reason}")
        warnings.warn(f"sparsegnn: precompiled kernels {bundle} not used: {reason}; "
                      f"compiling for this CPU instead", PrecompiledKernelsWarning, stacklevel=3)
        return STATUS
    _pin_target(manifest["target"])
    _install_locator(root)
    STATUS = KernelStatus("bundle", manifest["target"], str(bundle), str(root))
    return STATUS


def kernel_dispatchers() -> list:
    """Every jitted function of ``sparsegnn.kernels`` made so far, including the kernels made
    per layout (such as ``_spmm.WIDTH_KERNELS``' values)."""
    from numba.core.dispatcher import Dispatcher

    found = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("sparsegnn.kernels.") or module is None:
            continue
        kernels = list(vars(module).values())
        for attribute in list(kernels):
            if isinstance(attribute, dict):
                kernels += [value for value in attribute.values() if isinstance(value, Dispatcher)]
        found += [attribute for attribute in kernels
                  if isinstance(attribute, Dispatcher) and attribute.py_func.__module__ == name]
    return found


def kernel_stats() -> dict[str, tuple[int, int]]:
    """``{kernel: (specialisations loaded from the cache, specialisations compiled)}`` in this
    process so far, for every jitted function of ``sparsegnn.kernels`` called from Python
    (the functions they call compile into them)."""
    stats = {}
    for kernel in kernel_dispatchers():
        hits = sum(kernel.stats.cache_hits.values())
        compiled = len(kernel.overloads) - hits  # kept specialisations not loaded from the cache
        if hits or compiled:
            key = f"{kernel.py_func.__module__.rsplit('.', 1)[1]}.{kernel.py_func.__name__}"
            previous = stats.get(key, (0, 0))
            stats[key] = (previous[0] + hits, previous[1] + compiled)
    return stats


def host_description() -> str:
    """The host's LLVM CPU name and triple (for bundle manifests and notes)."""
    import llvmlite.binding as llvm

    return f"{llvm.get_host_cpu_name()} ({platform.machine()})"
