"""Time per edge of 2-layer GCN inference on synthetic power-law graphs, 1e5 to 1e7 edges:
sparsegnn runtime vs PyG (edge_index and CSR adj_t), same process, same weights.

Run: ``python bench/scale_sweep.py [--edges 1e5 1e6 1e7]``. Graphs are Chung-Lu graphs with a
power-law expected degree sequence (exponent 2.5, mean degree 10), symmetrised, with 64 random
features per node; the GCN (64 -> 64 -> 16) is untrained (speed does not depend on weights).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from sparsegnn._fileio import atomic_write_text
from sparsegnn.benchmark.stats import machine_info, measure, summarize
from sparsegnn.graph import Graph


def power_law_graph(num_edges: int, mean_degree: float = 10.0, exponent: float = 2.5,
                    seed: int = 0) -> Graph:
    """A symmetric Chung-Lu graph with about ``num_edges`` directed edges."""
    rng = np.random.default_rng(seed)
    nodes = max(int(num_edges / mean_degree), 2)
    weights = (np.arange(1, nodes + 1, dtype=np.float64)) ** (-1.0 / (exponent - 1.0))
    weights /= weights.sum()
    pairs = num_edges // 2
    src = rng.choice(nodes, size=pairs, p=weights)
    dst = rng.choice(nodes, size=pairs, p=weights)
    keep = src != dst
    edge_index = np.stack([np.concatenate([src[keep], dst[keep]]),
                           np.concatenate([dst[keep], src[keep]])])
    return Graph.from_edge_index(edge_index, nodes).coalesce()


def _measure_one(graph: Graph, features: int, session, pyg_model, min_seconds: float) -> dict:
    import torch

    x_np = np.random.default_rng(1).standard_normal((graph.num_nodes, features)).astype(np.float32)
    x = torch.from_numpy(x_np)
    edge_index = torch.from_numpy(graph.edge_index)
    adj_t = torch.sparse_csr_tensor(torch.from_numpy(graph.indptr),
                                    torch.from_numpy(graph.indices.astype(np.int64)),
                                    torch.ones(graph.num_edges), (graph.num_nodes,) * 2)
    with torch.inference_mode():
        expected = pyg_model(x, edge_index).numpy()
    np.testing.assert_allclose(session.run(x_np, graph), expected, atol=1e-3, rtol=1e-3)
    calls = {
        "sparsegnn": lambda: session.run(x_np, graph),
        "pyg-edge_index": lambda: pyg_model(x, edge_index),
        "pyg-csr": lambda: pyg_model(x, adj_t),
    }
    row = {"edges": graph.num_edges, "nodes": graph.num_nodes,
           "max_degree": int(np.diff(graph.indptr).max()), "backends": {}}
    for name, call in calls.items():
        with torch.inference_mode():
            stats = summarize(measure(call, warmup=1, min_repeat=3, max_repeat=20,
                                      min_seconds=min_seconds))
        row["backends"][name] = {"latency_ms": stats,
                                 "ns_per_edge": 1e6 * stats["p50"] / graph.num_edges}
    return row


def measure_scale(edge_counts, features: int = 64, min_seconds: float = 2.0) -> dict:
    import torch
    import torch_geometric.nn as pyg_nn

    from sparsegnn.export import export_artifact
    from sparsegnn.nn import from_pyg
    from sparsegnn.runtime import Session

    torch.manual_seed(0)
    pyg_model = pyg_nn.models.GCN(features, 64, 2, 16).eval()
    folder = Path(tempfile.mkdtemp(prefix="sparsegnn-scale-"))
    session = Session(export_artifact(from_pyg(pyg_model), folder / "gcn.sgnn"))
    rows = []
    for target in edge_counts:
        row = _measure_one(power_law_graph(int(target)), features, session, pyg_model,
                           min_seconds)
        rows.append(row)
        print(f"{row['edges']:>11,} edges: " + ", ".join(
            f"{name} {v['latency_ms']['p50']:.2f} ms ({v['ns_per_edge']:.1f} ns/edge)"
            for name, v in row["backends"].items()), flush=True)
    return {"machine": machine_info(), "features": features, "model": "GCN 64-64-16, 2 layers",
            "graphs": "Chung-Lu power law, exponent 2.5, mean degree 10", "rows": rows}


def scale_markdown(result: dict) -> str:
    names = list(result["rows"][0]["backends"])
    lines = ["| edges | nodes | max degree | " + " | ".join(f"{n} p50 ms (ns/edge)" for n in names)
             + " | sparsegnn speed-up vs " + " / ".join(names[1:]) + " |",
             "|" + "---|" * (4 + len(names))]
    for row in result["rows"]:
        ours = row["backends"]["sparsegnn"]["latency_ms"]["p50"]
        cells = [f"{row['backends'][n]['latency_ms']['p50']:.2f} "
                 f"({row['backends'][n]['ns_per_edge']:.1f})" for n in names]
        ratios = " / ".join(f"{row['backends'][n]['latency_ms']['p50'] / ours:.2f}×"
                            for n in names[1:])
        lines.append(f"| {row['edges']:,} | {row['nodes']:,} | {row['max_degree']:,} | "
                     + " | ".join(cells) + f" | {ratios} |")
    return "\n".join(lines)


def plot_scale(result: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.5, 4))
    for name in result["rows"][0]["backends"]:
        axis.plot([r["edges"] for r in result["rows"]],
                  [r["backends"][name]["ns_per_edge"] for r in result["rows"]], marker="o",
                  label=name)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("edges")
    axis.set_ylabel("p50 time per edge (ns)")
    axis.set_title(f"2-layer GCN, power-law graphs ({result['machine']['cpu']}, "
                   f"{result['machine']['logical_cores']} cores)", fontsize=9)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=float, nargs="+", default=[1e5, 1e6, 1e7])
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args()
    result = measure_scale(args.edges)
    print(scale_markdown(result))
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
