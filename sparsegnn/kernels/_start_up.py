"""Numba's start-up, cut to what sparsegnn's kernels need (``bench/cold_start.py``, case c).

A process whose kernels are all in the on-disk cache (or a bundle, ``_precompiled``) only loads
machine code. Numba's own load path also prepares its compiler and reads everything a later
compile might link, which costs more than the loads themselves:

* **The compiler's registries.** Before a load, Numba refreshes its typing and lowering
  registries (importing a few dozen of its modules). Loaded code needs only the runtime (NRT).
  Numba's compiler refreshes the registries itself before it compiles anything.
* **The IR kept for linking.** A cached kernel holds its object code and its LLVM bitcode; the
  bitcode serves only a later compile that calls the kernel from new code. Numba parses it at
  load and lists its symbols. Here it is parsed the first time something links the kernel.
* **The callees' environments.** A kernel's cache entry names the environment of every
  function compiled into it, and unpickling one imports that function's module. Most are
  Numba's array implementations (``numba.np.arrayobj``, whose import pulls in its string,
  hashing and sorting support). Compiled nopython code reads only an environment's
  constants, never its module globals, so an environment whose module is not imported yet
  gets its constants now and its globals when sparsegnn next compiles.
* **The runtime's own module.** NRT's reference counting and atomics are an LLVM module that
  Numba compiles when a process first loads or compiles jitted code. Its object code is kept
  beside the kernels' cache (:func:`_runtime_library`) and loaded from there.
* **The BLAS probe.** Numba's numpy support imports ``scipy.linalg`` to look for BLAS, which
  no kernel uses: :func:`skip_numba_blas_probe`, run just before sparsegnn's first compile.

Only the cache objects of ``sparsegnn.kernels``' own functions take this path; every other
jitted function in the process keeps Numba's. On a Numba that lacks a method this relies on,
the loads keep Numba's path too.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from pathlib import Path

from .._fileio import atomic_write_bytes

__all__ = ["lighten_numba_start_up", "skip_numba_blas_probe", "runtime_source"]

# The private parts of Numba (0.6x) that the lighter load uses; any missing: Numba's own path.
_NEEDED = {
    "numba.core.caching": {"FunctionCache": ("_load_overload", "_index_key",
                                             "_guard_against_spurious_io_errors"),
                           "IndexDataCacheFile": ("load",)},
    "numba.core.codegen": {"JITCodeLibrary": ("_finalize_final_module", "_set_compiled_object",
                                              "enable_object_caching", "_get_module_for_linking"),
                           "JITCPUCodegen": ("_library_class",)},
    "numba.core.environment": {"Environment": ("_memo",)},
    "numba.core.runtime.nrt": {"rtsys": ("_init", "initialize")},
    "numba.core.runtime.nrtdynmod": {"compile_nrt_functions": (), "create_nrt_module": ()},
}
_PAYLOAD_FIELDS = 9  # (library, fndesc, env, signature, objectmode, lifted, typeann,
#                       reload_init, referenced_envs): Numba's CompileResult._reduce
_deferred_globals: list[tuple[dict, str]] = []  # environments' globals to fill, by module
RUNTIME_FILE = "sparsegnn-nrt-{key}.bin"  # NRT's object code, beside the kernels' cache
_RUNTIME_FORMAT = "sparsegnn.nrt/1"
_runtime_source = ["numba"]  # where this process's NRT module came from


def lighten_numba_start_up() -> None:
    """Load sparsegnn's cached kernels without the start-up work they do not need (see the
    module docstring). Idempotent."""
    from numba.core.caching import FunctionCache

    original = FunctionCache.load_overload
    if getattr(original, "_sparsegnn_kernels", False):
        return
    if not _numba_has_what_this_uses():
        skip_numba_blas_probe()
        return
    from numba.core.runtime import nrt

    kernel_modules = __package__ + "."

    def load_overload(self, sig, target_context):
        if not getattr(self._py_func, "__module__", "").startswith(kernel_modules):
            return original(self, sig, target_context)
        if not nrt.rtsys._init:
            _initialize_runtime(target_context, Path(self._cache_path))
        with self._guard_against_spurious_io_errors():
            loaded = _load_kernel(self, sig, target_context)
        if loaded is None:  # not in the cache: Numba compiles it next
            skip_numba_blas_probe()
            _fill_deferred_globals()
        return loaded

    load_overload._sparsegnn_kernels = True
    FunctionCache.load_overload = load_overload


def runtime_source() -> str:
    """Where this process's NRT module came from: "numba" (Numba compiled it, or has not yet),
    "compiled" (compiled here and kept for the next process) or "cache" (loaded from it)."""
    return _runtime_source[0]


def _numba_has_what_this_uses() -> bool:
    import importlib

    for module_name, classes in _NEEDED.items():
        module = importlib.import_module(module_name)
        for class_name, attributes in classes.items():
            owner = getattr(module, class_name, None)
            if owner is None or not all(hasattr(owner, a) for a in attributes):
                return False
    from numba.core import compiler, environment

    return hasattr(environment, "_rebuild_env") and hasattr(compiler, "CompileResult")


def _load_kernel(cache, sig, target_context):
    """Numba's ``Cache._load_overload``, reading the entry with environments deferred and
    rebuilding it with the linking IR deferred. None when the entry is not cached."""
    if not cache._enabled:
        return None
    codegen = target_context.codegen()
    key = cache._index_key(sig, codegen)
    with _environments_without_imports():
        payload = cache._cache_file.load(key)
    if payload is None:
        return None
    if len(payload) != _PAYLOAD_FIELDS:  # another layout: Numba rebuilds it
        return cache._impl.rebuild(target_context, payload)
    return _rebuild(target_context, codegen, *payload)


def _rebuild(target_context, codegen, library_data, fndesc, environment, signature, objectmode,
             lifted, typeann, reload_init, referenced_envs):
    """Numba's ``CompileResult._rebuild``, with the library from :func:`_load_library`."""
    from numba.core.compiler import CompileResult

    for initialise in reload_init or ():
        initialise()
    library = _load_library(codegen, library_data, fndesc)
    entry_point = target_context.get_executable(library, fndesc, environment)
    result = CompileResult(target_context=target_context,
                           typing_context=target_context.typing_context, library=library,
                           environment=environment, entry_point=entry_point, fndesc=fndesc,
                           type_annotation=typeann, signature=signature, objectmode=objectmode,
                           lifted=lifted, typing_error=None, call_helper=None, metadata=None,
                           reload_init=reload_init, referenced_envs=referenced_envs)
    for referenced in referenced_envs:
        library.codegen.set_env(referenced.env_name, referenced)
    return result


def _load_library(codegen, library_data, fndesc):
    """Numba's ``CPUCodeLibrary._unserialize`` of object code, leaving the bitcode unparsed
    until a compile links the library. Numba lists the symbols the bitcode defines so that
    the engine is only asked for defined ones; the loader asks for the two the function
    descriptor names (its compiled function and its Python wrapper)."""
    name, kind, data = library_data
    if kind != "object":
        return codegen.unserialize_library(library_data)
    object_code, linking_bitcode = data
    return _object_library(codegen, name, object_code, linking_bitcode,
                           (fndesc.llvm_func_name, fndesc.llvm_cpython_wrapper_name))


def _object_library(codegen, name: str, object_code: bytes, linking_bitcode: bytes, symbols):
    """A code library of cached object code, added to Numba's engine, whose module for linking
    is parsed from ``linking_bitcode`` when first needed; ``symbols`` are the names it defines
    that Numba may look up."""
    library = _linking_later_class(codegen._library_class)(codegen, name)
    library.enable_object_caching()
    library._set_compiled_object(object_code)
    library._linking_bitcode = linking_bitcode
    library._finalize_final_module()
    codegen._engine._defined_symbols.update(symbols)
    return library


def _initialize_runtime(target_context, cache_folder: Path) -> None:
    """``nrt.rtsys.initialize``, with its LLVM module loaded from ``cache_folder`` when an
    earlier process kept it there, else compiled by Numba and kept."""
    from numba.core.runtime import nrt, nrtdynmod

    original = nrtdynmod.compile_nrt_functions
    nrtdynmod.compile_nrt_functions = functools.partial(_runtime_library, cache_folder)
    try:
        nrt.rtsys.initialize(target_context)
    finally:
        nrtdynmod.compile_nrt_functions = original


def _runtime_library(cache_folder: Path, target_context):
    """Numba's ``compile_nrt_functions``, through a file of the module's object code, its
    bitcode (code compiled later links it) and the symbols it defines, keyed by Numba's and
    llvmlite's versions and the codegen's target (triple, CPU and features): a JSON header
    line, then the two blobs. A file that does not match is compiled over."""
    import hashlib

    import llvmlite
    import numba
    from numba.core.runtime import nrtdynmod

    codegen = target_context.codegen()
    key = json.dumps([numba.__version__, llvmlite.__version__, list(codegen.magic_tuple())])
    path = cache_folder / RUNTIME_FILE.format(
        key=hashlib.sha256(key.encode()).hexdigest()[:16])
    cached = _read_runtime_file(path, key)
    if cached is not None:
        object_code, bitcode, symbols = cached
        _runtime_source[0] = "cache"
        return _object_library(codegen, "nrt", object_code, bitcode, symbols)
    module, library = nrtdynmod.create_nrt_module(target_context)
    library.enable_object_caching()
    library.add_ir_module(module)
    library.finalize()
    linking = library._get_module_for_linking()
    symbols = sorted({value.name for values in (linking.functions, linking.global_variables)
                      for value in values if not value.is_declaration})
    object_code, bitcode = library._get_compiled_object(), linking.as_bitcode()
    header = {"format": _RUNTIME_FORMAT, "key": key, "symbols": symbols,
              "object_bytes": len(object_code), "bitcode_bytes": len(bitcode)}
    with contextlib.suppress(OSError):  # a read-only cache folder: compile again next time
        atomic_write_bytes(path, json.dumps(header).encode() + b"\n" + object_code + bitcode)
    _runtime_source[0] = "compiled"
    return library


def _read_runtime_file(path: Path, key: str):
    """``(object code, bitcode, symbols)`` from a runtime file written for ``key``, or None
    when it is missing, for another key, or not whole."""
    try:
        content = path.read_bytes()
        line, _, blobs = content.partition(b"\n")
        header = json.loads(line)
        sizes = int(header["object_bytes"]), int(header["bitcode_bytes"])
        symbols = [str(name) for name in header["symbols"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if header.get("format") != _RUNTIME_FORMAT or header.get("key") != key \
            or min(sizes) <= 0 or len(blobs) != sum(sizes):
        return None
    return blobs[:sizes[0]], blobs[sizes[0]:], symbols


@functools.cache
def _linking_later_class(base):
    """``base`` (Numba's JIT code library) whose module for linking is parsed from the cached
    bitcode the first time it is asked for."""

    class LinkingLaterLibrary(base):
        _linking_bitcode = None

        @property
        def _shared_module(self):
            if self._linking_bitcode is not None:
                import llvmlite.binding as llvm

                self.__dict__["_parsed_shared_module"] = llvm.parse_bitcode(
                    self._linking_bitcode)
                self._linking_bitcode = None
            return self.__dict__.get("_parsed_shared_module")

        @_shared_module.setter
        def _shared_module(self, module):
            self.__dict__["_parsed_shared_module"] = module

    LinkingLaterLibrary.__name__ = LinkingLaterLibrary.__qualname__ = f"LinkingLater{base.__name__}"
    return LinkingLaterLibrary


@contextlib.contextmanager
def _environments_without_imports():
    """While a cache entry is unpickled: environments whose module is not imported yet get a
    globals dict of their own, filled by :func:`_fill_deferred_globals` (Numba's compiler lock
    is held, so no other load runs meanwhile)."""
    from numba.core import environment

    original = environment._rebuild_env

    def rebuild_env(module_name, consts, env_name):
        if module_name in sys.modules:
            return original(module_name, consts, env_name)
        found = environment.lookup_environment(env_name)
        if found is not None:
            return found
        module_globals = {"__name__": module_name}
        env = environment.Environment(module_globals)
        env.consts[:] = consts
        env.env_name = env_name
        environment.Environment._memo[env_name] = env
        _deferred_globals.append((module_globals, module_name))
        return env

    environment._rebuild_env = rebuild_env
    try:
        yield
    finally:
        environment._rebuild_env = original


def _fill_deferred_globals() -> None:
    """Give the deferred environments their modules' globals (importing the modules), so that
    any code compiled from now on sees Numba's own environments."""
    import importlib

    while _deferred_globals:
        module_globals, module_name = _deferred_globals.pop()
        module_globals.update(vars(importlib.import_module(module_name)))


class _NoScipyLinalg:
    """An import finder that answers "not installed" for scipy.linalg (see below)."""

    def find_spec(self, name, path=None, target=None):
        if name == "scipy.linalg" or name.startswith("scipy.linalg."):
            raise ImportError("scipy.linalg is left out of Numba's start-up by sparsegnn")
        return None


def skip_numba_blas_probe() -> None:
    """Load Numba's numpy support now, without its BLAS probe.

    Before it compiles anything, Numba loads its numpy support, which probes for BLAS
    by importing ``scipy.linalg`` when scipy is installed (bench/cold_start.py measures it),
    to decide whether ``np.correlate``/``np.convolve`` in jitted code may call BLAS. The
    kernels call neither. When ``scipy.linalg`` is not imported yet, the probe is answered "no
    BLAS" (so those two functions use Numba's own loop in this process); when it is, the
    probe is cheap and runs as usual. Numba's ``np.dot`` and ``np.linalg`` check for scipy again when
    they compile, unaffected."""
    if "scipy.linalg" in sys.modules or "numba.np.arraymath" in sys.modules:
        return
    finder = _NoScipyLinalg()
    sys.meta_path.insert(0, finder)
    try:
        import numba.np.arraymath  # noqa: F401 (its import runs the probe)
    finally:
        sys.meta_path.remove(finder)
