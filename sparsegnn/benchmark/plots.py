"""PNG plots of benchmark results (matplotlib, imported here only)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .._fileio import atomic_path  # noqa: E402

__all__ = ["plot_result", "plot_compare", "pareto_front"]


def _save(figure, path: Path) -> Path:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated in (lower latency, higher accuracy), by latency."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for index in order:
        if points[index][1] > best:
            front.append(index)
            best = points[index][1]
    return front


def _ok_runs(result: dict) -> list[tuple[dict, dict]]:
    models = {m["label"]: m for m in result["models"]}
    return [(models[r["model"]], r) for r in result["runs"] if r["status"] == "ok"]


def plot_result(result: dict, folder: Path, stem: str = "bench") -> list[Path]:
    """``stem-latency.png`` (p50 per backend against weight sparsity), ``stem-accuracy.png``
    and ``stem-pareto.png`` (latency vs accuracy of every model x backend, front marked)."""
    runs = _ok_runs(result)
    if not runs:
        return []
    backends = list(dict.fromkeys(r["backend"] for _, r in runs))
    paths = []
    for metric, ylabel, log in (("latency", "p50 latency (ms)", True),
                                ("accuracy", "accuracy on the test split (%)", False)):
        figure, axis = plt.subplots(figsize=(7, 4.5))
        for backend in backends:
            series = sorted((100 * m["weight_sparsity"],
                             r["latency_ms"]["p50"] if metric == "latency" else
                             (100 * r["accuracy"] if r["accuracy"] is not None else None))
                            for m, r in runs if r["backend"] == backend)
            series = [(x, y) for x, y in series if y is not None]
            if series:
                axis.plot(*zip(*series), marker="o", label=backend)
        axis.set_xlabel("weights pruned (%)")
        axis.set_ylabel(ylabel)
        if log:
            axis.set_yscale("log")
        axis.set_title(f"{result['dataset']['name']}: {metric} vs sparsity "
                       f"({result['machine']['cpu']}, {result['machine']['logical_cores']} cores)",
                       fontsize=9)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
        paths.append(_save(figure, Path(folder) / f"{stem}-{metric}.png"))
    scored = [(m, r) for m, r in runs if r["accuracy"] is not None]
    if scored:
        points = [(r["latency_ms"]["p50"], 100 * r["accuracy"]) for _, r in scored]
        front = pareto_front(points)
        figure, axis = plt.subplots(figsize=(7, 4.5))
        for backend in backends:
            chosen = [p for (m, r), p in zip(scored, points) if r["backend"] == backend]
            if chosen:
                axis.scatter(*zip(*chosen), label=backend, s=25)
        axis.plot(*zip(*[points[i] for i in front]), color="black", linewidth=1,
                  label="Pareto front")
        for i in front:
            axis.annotate(f"{scored[i][0]['label']}\n{scored[i][1]['backend']}", points[i],
                          fontsize=6, xytext=(3, 3), textcoords="offset points")
        axis.set_xscale("log")
        axis.set_xlabel("p50 latency (ms)")
        axis.set_ylabel("accuracy (%)")
        axis.set_title(f"{result['dataset']['name']}: latency vs accuracy", fontsize=9)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
        paths.append(_save(figure, Path(folder) / f"{stem}-pareto.png"))
    return paths


def plot_compare(merged: dict, path: Path) -> Path:
    """Grouped bars: p50 per backend (x) for each machine and model (bars)."""
    rows = [r for r in merged["rows"] if r["status"] == "ok"]
    backends = list(dict.fromkeys(r["backend"] for r in rows))
    groups = list(dict.fromkeys((r["machine"], r["dataset"], r["model"]) for r in rows))
    figure, axis = plt.subplots(figsize=(max(7, 1.2 * len(backends)), 4.5))
    width = 0.8 / max(len(groups), 1)
    for offset, group in enumerate(groups):
        values = {r["backend"]: r["p50_ms"] for r in rows
                  if (r["machine"], r["dataset"], r["model"]) == group}
        xs = [i + offset * width for i, b in enumerate(backends) if b in values]
        axis.bar(xs, [values[b] for b in backends if b in values], width,
                 label=" / ".join(group))
    axis.set_xticks([i + width * (len(groups) - 1) / 2 for i in range(len(backends))])
    axis.set_xticklabels(backends, rotation=30, ha="right", fontsize=8)
    axis.set_yscale("log")
    axis.set_ylabel("p50 latency (ms)")
    axis.grid(alpha=0.3, axis="y")
    axis.legend(fontsize=7)
    return _save(figure, Path(path))
