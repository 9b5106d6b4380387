"""Precompiled kernel bundles (``sparsegnn compile``, ``kernels._precompiled``): a fresh process
pointed at a bundle loads every kernel an artifact runs instead of compiling it, wherever the
package is installed; a bundle it cannot use is named and skipped; warming a session up
compiles everything later inputs need; Numba's start-up skips its BLAS probe."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sparsegnn.artifact import ArtifactError, save_artifact
from sparsegnn.graph import Graph
from sparsegnn.ir import Model, Node
from sparsegnn.kernels._precompiled import (
    BUNDLE_ENV,
    CACHE_ENV,
    MANIFEST,
    RUNTIME_FILE_PATTERN,
    TARGETS,
    kernel_stats,
    neutral_environment,
)
from sparsegnn.ops.reference import run_reference
from sparsegnn.runtime import Session
from sparsegnn.runtime.compile import compile_kernels

PACKAGE = Path(__file__).resolve().parents[2] / "sparsegnn"

# A child that runs the artifact on the saved input and reports where its kernels came from.
CHILD = """
import json, sys
import numpy as np
from sparsegnn.kernels import KERNELS
from sparsegnn.kernels._precompiled import kernel_stats
from sparsegnn.kernels._start_up import runtime_source
from sparsegnn.runtime import Session
import sparsegnn
data = np.load(sys.argv[2])
out = Session(sys.argv[1]).run(data["x"], data["edge_index"])
stats = kernel_stats()
print(json.dumps({"source": KERNELS.source, "note": KERNELS.note, "package": sparsegnn.__file__,
                  "loaded": sum(h for h, _ in stats.values()),
                  "compiled": sum(m for _, m in stats.values()),
                  "scipy_linalg": "scipy.linalg" in sys.modules,
                  "compiler_registries": "numba.np.polynomial" in sys.modules,
                  "array_support": "numba.np.arrayobj" in sys.modules,
                  "runtime": runtime_source(), "out": out.tolist()}))
"""


def _gat_model() -> Model:
    """A one-layer GAT: the per-op path only (no compiled program), so its bundle is small."""
    rng = np.random.default_rng(0)
    tensors = {"w": rng.standard_normal((6, 4)).astype(np.float32),
               "as": rng.standard_normal((1, 4)).astype(np.float32),
               "ad": rng.standard_normal((1, 4)).astype(np.float32)}
    attrs = {"weight": {"format": "dense", "tensor": "w", "shape": [6, 4]}, "att_src": "as",
             "att_dst": "ad", "heads": 1, "channels": 4, "concat": True, "negative_slope": 0.2,
             "add_self_loops": True, "activation": "relu"}
    return Model([Node("gat_conv", ["x", "graph"], ["y"], attrs)], tensors,
                 [{"name": "x", "dtype": "float32", "shape": [None, 6]}],
                 [{"name": "y", "dtype": "float32", "shape": [None, 4]}])


def _inputs(tmp_path: Path) -> tuple[Path, np.ndarray, Graph]:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 6)).astype(np.float32)
    edge_index = rng.integers(0, 40, (2, 120))
    path = tmp_path / "inputs.npz"
    np.savez(path, x=x, edge_index=edge_index)
    return path, x, Graph.from_edge_index(edge_index, 40)


def _run_child(artifact: Path, inputs: Path, env: dict, pythonpath: Path | None = None) -> dict:
    env = neutral_environment(**env)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    # run from the inputs' folder: a checkout in the working directory would shadow PYTHONPATH
    result = subprocess.run([sys.executable, "-c", CHILD, str(artifact), str(inputs)], env=env,
                            capture_output=True, text=True, timeout=600, cwd=inputs.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report["stderr"] = result.stderr
    return report


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundle")
    artifact = save_artifact(_gat_model(), folder / "gat.sgnn")
    lines = []
    manifest = compile_kernels([artifact], folder / "kernels", progress=lines.append)
    return artifact, folder / "kernels", manifest, lines


def test_compile_writes_a_described_bundle(bundle):
    _, folder, manifest, lines = bundle
    assert json.loads((folder / MANIFEST).read_text()) == manifest
    assert manifest["target"] == "x86-64-v3" and manifest["artifacts"] == ["gat.sgnn"]
    assert manifest["kernels"] == len(list(folder.rglob("*.nbc"))) > 0
    assert any(line.startswith("compiled gat.sgnn") for line in lines)
    # laid out by module path inside the package: nothing names the machine's folders
    assert {p.parent.relative_to(folder).as_posix() for p in folder.rglob("*.nbi")} == {"kernels"}
    # and the NRT module's object code, built for the same target
    assert len(list(folder.rglob(RUNTIME_FILE_PATTERN))) == 1


def test_a_fresh_process_on_a_relocated_install_loads_every_kernel(bundle, tmp_path):
    """The package copied elsewhere (another install), the bundle copied elsewhere, empty
    caches: the first run compiles nothing and gives the reference's output."""
    artifact, folder, _, _ = bundle
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "sparsegnn", ignore=shutil.ignore_patterns("__pycache__"))
    shipped = shutil.copytree(folder, tmp_path / "shipped")
    inputs, x, graph = _inputs(tmp_path)
    report = _run_child(artifact, inputs, {BUNDLE_ENV: str(shipped),
                                           CACHE_ENV: str(tmp_path / "cache"),
                                           "NUMBA_CACHE_DIR": str(tmp_path / "numba")}, site)
    assert report["package"].startswith(str(site))
    assert report["source"] == "bundle"
    assert report["compiled"] == 0 and report["loaded"] > 0 and report["runtime"] == "cache"
    assert not report["scipy_linalg"] and not report["compiler_registries"]
    assert not report["array_support"]
    np.testing.assert_allclose(report["out"], run_reference(_gat_model(), x, graph), atol=1e-5)


def test_cached_kernels_load_without_the_compiler_set_up(tmp_path):
    """Warm cache: the second process loads every kernel without Numba's compiler registries,
    its array support, the kernels' linking IR or compiling NRT (``kernels._start_up``), and
    gives the output of the process that compiled them. In that process an app's own cached
    function keeps Numba's path (it compiles, then loads), and new code that calls a loaded
    kernel compiles (linking the kernel's IR, parsed then) and runs."""
    artifact = save_artifact(_gat_model(), tmp_path / "gat.sgnn")
    inputs, x, graph = _inputs(tmp_path)
    (tmp_path / "app_kernel.py").write_text(
        "import numba\nimport numpy as np\n\n@numba.njit(cache=True)\n"
        "def sorted_copy(a):\n    return np.sort(a)\n")
    app = CHILD + """
import numba
from app_kernel import sorted_copy
from sparsegnn.kernels._checks import _nonfinite_sum

loaded_library = next(iter(_nonfinite_sum.overloads.values())).library
unparsed = getattr(loaded_library, "_linking_bitcode", None) is not None
values = np.array([3.0, 1.0, 2.0])
assert sorted_copy(values).tolist() == [1.0, 2.0, 3.0]

@numba.njit
def doubled_nonfinite_sum(flat):  # links the loaded kernel into new code
    return 2 * _nonfinite_sum(flat, np.int64(0), flat.shape[0])

finite = np.asarray(data["x"], np.float32).reshape(-1)
linked = bool(doubled_nonfinite_sum(finite) == 0
              and np.isnan(doubled_nonfinite_sum(np.array([1, np.nan], np.float32))))
print(json.dumps({"app_loaded": sum(sorted_copy.stats.cache_hits.values()),
                  "unparsed": unparsed, "linked": linked,
                  "parsed_when_linked": getattr(loaded_library, "_linking_bitcode", 0) is None}))
"""
    environment = neutral_environment(NUMBA_CACHE_DIR=str(tmp_path / "numba"),
                                      PYTHONPATH=str(tmp_path))
    reports = []
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", app, str(artifact), str(inputs)],
                                env=environment, capture_output=True, text=True, timeout=600,
                                cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        lines = result.stdout.strip().splitlines()
        reports.append({**json.loads(lines[-2]), **json.loads(lines[-1])})
    compiled, loaded = reports
    assert compiled["compiled"] > 0 and compiled["compiler_registries"]
    assert loaded["compiled"] == 0 and loaded["loaded"] > 0
    assert not loaded["compiler_registries"] and not loaded["array_support"]
    assert compiled["runtime"] == "compiled" and loaded["runtime"] == "cache"
    assert loaded["unparsed"] and loaded["parsed_when_linked"] and loaded["linked"]
    assert compiled["linked"]
    assert loaded["app_loaded"] == 1 and compiled["app_loaded"] == 0
    assert loaded["out"] == compiled["out"]
    np.testing.assert_allclose(loaded["out"], run_reference(_gat_model(), x, graph), atol=1e-5)


LITERAL_CHILD = """
import sys
import numpy as np
import torch
from numba import types
from sparsegnn import data
from sparsegnn.export import export_artifact
from sparsegnn.nn.recipes import make_model
from sparsegnn.runtime import Session
from sparsegnn.sparse import CSRMatrix
from sparsegnn.kernels._precompiled import kernel_dispatchers

folder = sys.argv[1]
nodes = data.load("synthetic")
x = np.asarray(nodes.dense_x(), np.float32)
for kind in ("gcn", "sage", "gat"):
    torch.manual_seed(0)
    session = Session(export_artifact(make_model(kind, nodes).eval(), f"{folder}/{kind}.sgnn"))
    for features in (x, CSRMatrix.from_dense(x * (x > 1))):
        session.run(features, nodes.graph)
graphs = data.load("synthetic-graphs")
torch.manual_seed(0)
session = Session(export_artifact(make_model("gin", graphs).eval(), f"{folder}/gin.sgnn"))
for count in (1, graphs.num_graphs):  # the compiled program, then the per-op path
    graph, features, batch = graphs.select_graphs(list(range(count)))
    session.run(np.asarray(features, np.float32), graph, batch)
for dispatcher in kernel_dispatchers():
    for signature in dispatcher.overloads:
        if any(isinstance(t, types.Literal) or (isinstance(t, types.BaseTuple) and any(
                isinstance(u, types.Literal) for u in t)) for t in signature):
            print(dispatcher.py_func.__qualname__, signature)
"""


def test_no_kernel_compiles_for_a_literal_argument(tmp_path):
    """A constant passed to a jitted function is typed as a literal (``Literal[int](0)``), and
    the callee compiles a specialisation for that constant alone: the compiled interpreter
    once compiled its SpMM spans twice over. Every model kind, on both paths, dense and CSR
    features: no kernel specialisation of sparsegnn's takes a literal."""
    result = subprocess.run([sys.executable, "-c", LITERAL_CHILD, str(tmp_path)],
                            capture_output=True, text=True, timeout=900,
                            env=neutral_environment())
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("field, value, reason", [
    ("numba", "0.0.1", "built with numba 0.0.1"),
    ("triple", "aarch64-unknown-linux-gnu", "it targets aarch64"),
    ("target", "x86-64-v9", "is not one of"),
])
def test_a_bundle_that_does_not_fit_is_named_and_the_kernels_compile(field, value, reason, bundle,
                                                                     tmp_path):
    artifact, folder, manifest, _ = bundle
    edited = shutil.copytree(folder, tmp_path / "edited")
    (edited / MANIFEST).write_text(json.dumps({**manifest, field: value}))
    inputs, x, graph = _inputs(tmp_path)
    report = _run_child(artifact, inputs, {BUNDLE_ENV: str(edited),
                                           CACHE_ENV: str(tmp_path / "cache")})
    assert report["source"] == "jit" and reason in report["note"]
    assert "PrecompiledKernelsWarning" in report["stderr"] and reason in report["stderr"]
    assert not (tmp_path / "cache").exists()
    np.testing.assert_allclose(report["out"], run_reference(_gat_model(), x, graph), atol=1e-5)


def test_compile_checks_its_arguments_before_compiling(tmp_path):
    artifact = save_artifact(_gat_model(), tmp_path / "gat.sgnn")
    with pytest.raises(ValueError, match="target must be one of"):
        compile_kernels([artifact], tmp_path / "out", target="pentium")
    with pytest.raises(ValueError, match="at least one artifact"):
        compile_kernels([], tmp_path / "out")
    broken = tmp_path / "broken.sgnn"
    broken.write_bytes(artifact.read_bytes()[:-10])
    with pytest.raises(ArtifactError):
        compile_kernels([broken], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert "x86-64-v3" in TARGETS


@pytest.mark.parametrize("kind", ["node", "graph"])
def test_warm_up_compiles_what_later_inputs_need(kind, tmp_path):
    """After ``warm_up`` (here through ``warmup=True``), runs on new inputs of every kind it
    covers compile nothing more."""
    from sparsegnn.sparse import CSRMatrix

    model = _gat_model()
    batch = None
    if kind == "graph":
        model.inputs.append({"name": "batch", "dtype": "int64", "shape": [None]})
        model.nodes.append(Node("global_pool", ["y", "batch"], ["z"], {"reduce": "mean"}))
        model.outputs = [{"name": "z", "dtype": "float32", "shape": [None, 4]}]
    session = Session(save_artifact(model, tmp_path / "model.sgnn"), warmup=True)
    session.warmup_thread.join(timeout=600)
    assert not session.warmup_thread.is_alive()
    compiled = sum(m for _, m in kernel_stats().values())
    rng = np.random.default_rng(5)
    for num_nodes in (20, 1500):
        x = rng.standard_normal((num_nodes, 6)).astype(np.float32)
        edge_index = rng.integers(0, num_nodes, (2, 3 * num_nodes))
        graph = Graph.from_edge_index(edge_index, num_nodes)
        if kind == "graph":
            batch = np.sort(rng.integers(0, 3, num_nodes))
        for features in (x, CSRMatrix.from_dense(x * (x > 1))):
            for form in (graph, edge_index, edge_index.astype(np.int32)):
                session.run(features, form, batch)
    assert sum(m for _, m in kernel_stats().values()) == compiled


def test_numba_dot_still_works_after_the_skipped_blas_probe():
    """The probe is skipped only for Numba's start-up: jitted ``np.dot`` compiles as usual."""
    script = """
import sys
import numpy as np
import sparsegnn.runtime
import numba
assert "scipy.linalg" not in sys.modules
@numba.njit
def dot(a, b):
    return np.dot(a, b)
a = np.arange(6.0).reshape(2, 3)
assert np.allclose(dot(a, a.T), a @ a.T)
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    if "scipy" in result.stderr and "required" in result.stderr:
        pytest.fail(result.stderr[-2000:])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_a_change_to_any_kernel_module_compiles_the_kernels_again(tmp_path):
    """Numba keys a cached kernel by its own module's source, but the kernels compile in code
    from other kernel modules (``_intrinsics``' vectors, ``_epilogue``'s activations). With an
    edit to ``_intrinsics`` alone, a warm cache must not hand back kernels built from the old
    source: every kernel the run needs compiles again, and the next run loads those."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "sparsegnn", ignore=shutil.ignore_patterns("__pycache__"))
    artifact = save_artifact(_gat_model(), tmp_path / "gat.sgnn")
    inputs, x, graph = _inputs(tmp_path)
    environment = {"NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    compiled = _run_child(artifact, inputs, environment, site)
    warm = _run_child(artifact, inputs, environment, site)
    intrinsics = site / "sparsegnn" / "kernels" / "_intrinsics.py"
    intrinsics.write_text(intrinsics.read_text() + "\n# an edit\n")
    edited = _run_child(artifact, inputs, environment, site)
    again = _run_child(artifact, inputs, environment, site)
    assert compiled["compiled"] > 0 and compiled["loaded"] == 0
    assert warm["compiled"] == 0 and warm["loaded"] > 0
    assert edited["loaded"] == 0 and edited["compiled"] == compiled["compiled"]
    assert again["compiled"] == 0 and again["loaded"] == warm["loaded"]
    for report in (compiled, warm, edited, again):
        np.testing.assert_allclose(report["out"], run_reference(_gat_model(), x, graph),
                                   atol=1e-5)
