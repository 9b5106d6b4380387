"""Pictures of what was pruned, and one self-contained HTML page that gathers them
(``sparsegnn prune ... --report DIR``, ``sparsegnn inspect --plot DIR ARTIFACT``).

A :class:`PruneReport` is plain data (numpy arrays, strings), built from a pruning run
(``from_pruning``) or from an artifact alone (``from_artifact``); ``write_report`` draws it with
matplotlib:

* ``layers.png``: weights kept and pruned per weight matrix (bars);
* ``masks.png``: each weight matrix's mask (rows = outputs; large matrices are shown as the
  share kept per cell of a coarser grid);
* ``channels.png``: hidden widths (channels, or GAT heads) before and after channel pruning;
* ``degrees.png``: the degree distribution before and after edge pruning;
* ``graph.png``: a small graph (a molecule, or a node's neighbourhood) with pruned edges dashed;
* ``index.html``: all of them inline (base64), with the before/after table; no external
  resource, no script.
"""

from __future__ import annotations

import base64
import html
import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._fileio import atomic_path, atomic_write_text
from .graph import Graph

__all__ = ["PruneReport", "SmallGraph", "write_report", "from_artifact", "ego_net",
           "whole_graph", "feature_labels", "degrees", "render_html", "save_figure", "MAX_CELLS"]

MAX_CELLS = 256  # a heat map shows at most this many cells along each axis


@dataclass
class SmallGraph:
    """A graph small enough to draw: ``kept`` and ``pruned`` undirected edges ``(2, E)`` over
    ``num_nodes`` nodes (local ids), a label per node and the node at the centre (or -1)."""

    num_nodes: int
    kept: np.ndarray
    pruned: np.ndarray
    labels: np.ndarray
    title: str
    centre: int = -1
    label_name: str = "class"


@dataclass
class PruneReport:
    """What a report shows. ``masks``: keep-masks ``(out, in)`` by weight name; ``channels``:
    ``(layer, width before, width after, unit)``; ``table``: ``(quantity, before, after)``."""

    title: str
    masks: dict[str, np.ndarray]
    table: list[tuple[str, str, str]] = field(default_factory=list)
    channels: list[tuple[str, int, int, str]] = field(default_factory=list)
    degrees_before: np.ndarray | None = None
    degrees_after: np.ndarray | None = None
    small_graph: SmallGraph | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """The numbers behind the pictures, for ``report.json``."""
        return {"title": self.title, "table": [list(row) for row in self.table],
                "layers": {name: {"shape": list(mask.shape), "kept": int(mask.sum()),
                                  "size": int(mask.size)} for name, mask in self.masks.items()},
                "channels": [list(row) for row in self.channels], "notes": self.notes}


def _undirected(graph: Graph) -> np.ndarray:
    """Each undirected non-loop edge once, smaller id first, sorted. Shape ``(2, E)``."""
    src, dst = graph.indices.astype(np.int64), graph.dst
    loops = src == dst
    low, high = np.minimum(src, dst)[~loops], np.maximum(src, dst)[~loops]
    keys = np.unique(low * graph.num_nodes + high)
    return np.stack([keys // max(graph.num_nodes, 1), keys % max(graph.num_nodes, 1)])


def degrees(graph: Graph) -> np.ndarray:
    """Neighbours per node, self loops left out. Shape ``(N,)``."""
    ends = _undirected(graph)
    return np.bincount(ends.ravel(), minlength=graph.num_nodes)


def ego_net(before: Graph, after: Graph, labels: np.ndarray, *, max_nodes: int = 40,
            centre: int | None = None) -> SmallGraph:
    """The neighbourhood of ``centre`` (default: the node with the most pruned edges around
    it whose 2-hop neighbourhood fits ``max_nodes``, else its 1-hop one), its edges split into
    kept and pruned."""
    full, thinned = _undirected(before), _undirected(after)
    n = before.num_nodes
    pruned_mask = ~np.isin(full[0] * n + full[1], thinned[0] * n + thinned[1])
    neighbours = [[] for _ in range(before.num_nodes)]
    for u, v in full.T.tolist():
        neighbours[u].append(v)
        neighbours[v].append(u)

    def hood(node: int, hops: int) -> list[int]:
        seen, frontier = {node}, [node]
        for _ in range(hops):
            frontier = [w for u in frontier for w in neighbours[u] if w not in seen]
            seen.update(frontier)
        return sorted(seen)

    if centre is None:
        pruned_per_node = np.bincount(full[:, pruned_mask].ravel(), minlength=before.num_nodes)
        best, best_count = 0, -1
        for node in np.argsort(-pruned_per_node, kind="stable")[:200]:
            members = hood(int(node), 2)
            if len(members) > max_nodes:
                members = hood(int(node), 1)
            if len(members) <= max_nodes and pruned_per_node[node] > best_count:
                best, best_count = int(node), int(pruned_per_node[node])
        centre = best
    members = hood(centre, 2)
    if len(members) > max_nodes:
        members = hood(centre, 1)[:max_nodes]
    local = {node: i for i, node in enumerate(members)}
    inside = np.array([u in local and v in local for u, v in full.T.tolist()], bool)
    remap = np.vectorize(local.get, otypes=[np.int64])
    kept = full[:, inside & ~pruned_mask]
    pruned = full[:, inside & pruned_mask]
    return SmallGraph(num_nodes=len(members),
                      kept=remap(kept) if kept.size else kept.reshape(2, 0),
                      pruned=remap(pruned) if pruned.size else pruned.reshape(2, 0),
                      labels=np.asarray(labels)[members], centre=local[centre],
                      title=f"node {centre} and its neighbourhood ({len(members)} nodes)")


def feature_labels(x) -> np.ndarray:
    """Each node's largest input feature (a molecule's atom type, for one-hot atoms): how a
    drawn graph colours nodes without classes. ``x``: dense ``(n, F)`` or a CSR matrix."""
    dense = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
    return dense.reshape(dense.shape[0], -1).argmax(axis=1)


def whole_graph(graph: Graph, labels: np.ndarray, title: str,
                label_name: str = "class") -> SmallGraph:
    """A small graph drawn whole, nothing pruned (graph tasks do not prune edges)."""
    return SmallGraph(num_nodes=graph.num_nodes, kept=_undirected(graph),
                      pruned=np.zeros((2, 0), np.int64), labels=np.asarray(labels), title=title,
                      label_name=label_name)


# ----------------------------------------------------------------------------- pictures
def _coarse(mask: np.ndarray) -> np.ndarray:
    """The share kept per cell of a grid at most ``MAX_CELLS`` x ``MAX_CELLS``."""
    rows, cols = mask.shape
    fr, fc = -(-rows // MAX_CELLS), -(-cols // MAX_CELLS)
    if fr == 1 and fc == 1:
        return mask.astype(np.float32)
    padded = np.zeros((-(-rows // fr) * fr, -(-cols // fc) * fc), np.float32)
    counts = np.zeros_like(padded)
    padded[:rows, :cols] = mask
    counts[:rows, :cols] = 1
    shape = (padded.shape[0] // fr, fr, padded.shape[1] // fc, fc)
    return padded.reshape(shape).sum(axis=(1, 3)) / np.maximum(counts.reshape(shape).sum(axis=(1, 3)), 1)


def save_figure(figure, path: str | Path, dpi: int = 110) -> Path:
    """Write a matplotlib figure as a PNG atomically, then close it."""
    import matplotlib.pyplot as plt

    with atomic_path(Path(path)) as temporary:
        figure.savefig(temporary, format="png", dpi=dpi)
    plt.close(figure)
    return Path(path)


def _plot_layers(plt, report: PruneReport, path: Path) -> Path:
    names = list(report.masks)
    kept = np.array([report.masks[n].sum() for n in names], dtype=np.float64)
    total = np.array([report.masks[n].size for n in names], dtype=np.float64)
    figure, axes = plt.subplots(figsize=(7, 0.5 * len(names) + 1.5))
    y = np.arange(len(names))
    axes.barh(y, kept, color="tab:blue", label="kept")
    axes.barh(y, total - kept, left=kept, color="lightgrey", label="pruned")
    for row, (k, t) in enumerate(zip(kept, total)):
        axes.text(t, row, f" {100 * k / max(t, 1):.1f} % kept", va="center", fontsize="small")
    axes.set_yticks(y, names, fontsize="small")
    axes.invert_yaxis()
    axes.set_xlabel("weights")
    axes.set_xlim(0, total.max() * 1.3 if total.size else 1)
    axes.set_title("weights kept and pruned per matrix")
    axes.legend(fontsize="small", loc="lower right")
    figure.tight_layout()
    return save_figure(figure, path)


def _plot_masks(plt, report: PruneReport, path: Path) -> Path:
    count = len(report.masks)
    columns = min(count, 3)
    rows = -(-count // columns)
    from matplotlib.ticker import MaxNLocator

    figure, grid = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows),
                                squeeze=False, constrained_layout=True)
    for axes, (name, mask) in zip(grid.ravel(), report.masks.items()):
        shown = _coarse(mask)
        # extent: the axes count inputs and outputs even when cells are coarser than weights
        image = axes.imshow(shown, aspect="auto", cmap="Blues", vmin=0, vmax=1,
                            interpolation="nearest", extent=(0, mask.shape[1], mask.shape[0], 0))
        coarse = shown.shape != mask.shape
        axes.set_title(f"{name}\n{mask.shape[0]} x {mask.shape[1]}, "
                       f"{100 * mask.mean():.1f} % kept" + (", share per cell" if coarse else ""),
                       fontsize="small")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("inputs", fontsize="small")
        axes.set_ylabel("outputs", fontsize="small")
    for axes in grid.ravel()[count:]:
        axes.axis("off")
    figure.colorbar(image, ax=grid.ravel().tolist(), shrink=0.8, label="kept")
    return save_figure(figure, path)


def _plot_channels(plt, report: PruneReport, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(6, 0.5 * len(report.channels) + 1.5))
    labels = [f"{layer} ({unit})" for layer, _, _, unit in report.channels]
    before = [b for _, b, _, _ in report.channels]
    after = [a for _, _, a, _ in report.channels]
    y = np.arange(len(labels))
    axes.barh(y - 0.2, before, height=0.4, color="lightgrey", label="before")
    axes.barh(y + 0.2, after, height=0.4, color="tab:blue", label="after")
    axes.set_yticks(y, labels, fontsize="small")
    axes.invert_yaxis()
    axes.set_xlabel("width")
    axes.set_title("hidden channels (heads for GAT) before and after")
    axes.legend(fontsize="small")
    figure.tight_layout()
    return save_figure(figure, path)


def _plot_degrees(plt, report: PruneReport, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(6, 4))
    series = [(report.degrees_before, "before", "lightgrey"),
              (report.degrees_after, "after", "tab:blue")]
    top = max(int(d.max()) for d, _, _ in series if d is not None and d.size)
    bins = np.unique(np.round(np.logspace(0, np.log10(max(top, 1) + 1), 30)).astype(int)) - 0.5
    bins = np.concatenate([[-0.5], bins])
    for values, label, color in series:
        if values is not None:
            axes.hist(values, bins=bins, color=color, alpha=0.8, label=f"{label} (mean "
                      f"{values.mean():.2f})", histtype="stepfilled" if label == "before"
                      else "step", linewidth=2)
    axes.set_xscale("symlog")
    axes.set_yscale("log")
    axes.set_xlabel("neighbours per node")
    axes.set_ylabel("nodes")
    axes.set_title("degree distribution")
    axes.legend(fontsize="small")
    figure.tight_layout()
    return save_figure(figure, path)


def _layout(graph: SmallGraph) -> np.ndarray:
    """Node positions ``(n, 2)``: networkx's spring layout when networkx is there (torch
    depends on it), else a circle."""
    try:
        import networkx as nx
    except ImportError:
        angle = 2 * np.pi * np.arange(graph.num_nodes) / max(graph.num_nodes, 1)
        return np.stack([np.cos(angle), np.sin(angle)], axis=1)
    g = nx.Graph()
    g.add_nodes_from(range(graph.num_nodes))
    g.add_edges_from(np.concatenate([graph.kept, graph.pruned], axis=1).T.tolist())
    positions = nx.spring_layout(g, seed=0)
    return np.array([positions[i] for i in range(graph.num_nodes)])


def _plot_graph(plt, graph: SmallGraph, path: Path) -> Path:
    xy = _layout(graph)
    figure, axes = plt.subplots(figsize=(6, 6))
    for edges, style, color, label in ((graph.kept, "-", "tab:blue", "kept"),
                                       (graph.pruned, "--", "tab:red", "pruned")):
        for number, (u, v) in enumerate(edges.T.tolist()):
            axes.plot(*xy[[u, v]].T, linestyle=style, color=color, linewidth=1.2,
                      label=label if number == 0 else None, zorder=1)
    labels = np.asarray(graph.labels)
    classes = np.unique(labels)
    colours = plt.get_cmap("tab10")
    for index, value in enumerate(classes):
        chosen = labels == value
        axes.scatter(*xy[chosen].T, s=80, color=colours(index % 10), edgecolor="black",
                     label=f"{graph.label_name} {value}", zorder=2)
    if graph.centre >= 0:
        axes.scatter(*xy[graph.centre], s=260, facecolor="none", edgecolor="black",
                     linewidth=2, zorder=3, label="centre")
    axes.set_title(textwrap.fill(f"{graph.title}: {graph.kept.shape[1]} edges kept, "
                                 f"{graph.pruned.shape[1]} pruned (dashed)", 70),
                   fontsize="small")
    axes.axis("off")
    axes.legend(fontsize="x-small", loc="best")
    figure.tight_layout()
    return save_figure(figure, path)


def render_html(report: PruneReport, images: dict[str, Path]) -> str:
    """One HTML5 page: the before/after table, the notes, and each picture inline."""
    escape = html.escape
    rows = "\n".join(f"<tr><th scope=\"row\">{escape(q)}</th><td>{escape(b)}</td>"
                     f"<td>{escape(a)}</td></tr>" for q, b, a in report.table)
    layer_rows = "\n".join(
        f"<tr><th scope=\"row\">{escape(name)}</th><td>{mask.shape[0]} x {mask.shape[1]}</td>"
        f"<td>{int(mask.sum()):,}</td><td>{100 * (1 - mask.mean()):.1f} %</td></tr>"
        for name, mask in report.masks.items())
    notes = "".join(f"<li>{escape(note)}</li>" for note in report.notes)
    figures = []
    for caption, path in images.items():
        encoded = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        figures.append(f"<figure><img src=\"data:image/png;base64,{encoded}\" "
                       f"alt=\"{escape(caption)}\"><figcaption>{escape(caption)}</figcaption>"
                       f"</figure>")
    table = (f"<table><thead><tr><th scope=\"col\"></th><th scope=\"col\">before</th>"
             f"<th scope=\"col\">after</th></tr></thead><tbody>\n{rows}\n</tbody></table>"
             if report.table else "")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(report.title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 960px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.8em; text-align: right; }}
th[scope=row] {{ text-align: left; }}
figure {{ margin: 1.5em 0; }}
img {{ max-width: 100%; }}
figcaption {{ color: #555; font-size: 0.9em; }}
</style>
</head>
<body>
<h1>{escape(report.title)}</h1>
{table}
<ul>{notes}</ul>
<h2>Weight matrices</h2>
<table><thead><tr><th scope="col">matrix</th><th scope="col">shape</th>
<th scope="col">kept</th><th scope="col">pruned</th></tr></thead>
<tbody>
{layer_rows}
</tbody></table>
{''.join(figures)}
</body>
</html>
"""


def write_report(report: PruneReport, folder: str | Path) -> list[Path]:
    """Draw every picture ``report`` has data for into ``folder``, then ``index.html`` and
    ``report.json``; returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images: dict[str, Path] = {}
    if report.masks:
        images["weights kept and pruned per matrix"] = _plot_layers(plt, report,
                                                                    folder / "layers.png")
        images["each weight matrix's mask (rows: outputs, columns: inputs)"] = _plot_masks(
            plt, report, folder / "masks.png")
    if report.channels:
        images["hidden widths before and after"] = _plot_channels(plt, report,
                                                                 folder / "channels.png")
    if report.degrees_before is not None or report.degrees_after is not None:
        images["degree distribution"] = _plot_degrees(plt, report, folder / "degrees.png")
    if report.small_graph is not None:
        images[report.small_graph.title] = _plot_graph(plt, report.small_graph,
                                                       folder / "graph.png")
    page = folder / "index.html"
    atomic_write_text(page, render_html(report, images))
    summary = folder / "report.json"
    atomic_write_text(summary, json.dumps(report.summary(), indent=2))
    return [*images.values(), page, summary]


def from_artifact(path: str | Path) -> PruneReport:
    """What an artifact alone shows: each weight matrix's nonzeros as its mask, the stored
    graph's degrees, the file's size and the scores its metadata recorded."""
    from .artifact import load_artifact
    from .ir import matrix_to_dense

    model = load_artifact(path)
    masks = {}
    for index, node in enumerate(model.nodes):
        for key, value in node.attrs.items():
            if isinstance(value, dict) and "format" in value:
                masks[f"[{index}] {node.op}.{key}"] = matrix_to_dense(value, model.tensors) != 0
    metadata = model.metadata
    table = [("file size", "", f"{Path(path).stat().st_size:,} B"),
             ("weights stored", f"{sum(m.size for m in masks.values()):,}",
              f"{sum(int(m.sum()) for m in masks.values()):,}")]
    for key in ("train_val_score", "train_test_score"):
        if key in metadata:
            table.append((key[len("train_"):].replace("_", " "), "", f"{metadata[key]}"))
    notes = [f"{key[len('train_'):]}: {metadata[key]}" for key in sorted(metadata)
             if key.startswith("train_") and key not in ("train_val_score", "train_test_score")
             and not isinstance(metadata[key], (dict, list))]
    degrees_after = None
    if model.has_stored_graph:
        stored = Graph(model.tensors["stored_graph.indptr"], model.tensors["stored_graph.indices"],
                       int(model.tensors["stored_graph.indptr"].shape[0] - 1))
        degrees_after = degrees(stored)
        notes.append("degrees: the stored graph (the graph before pruning is not in the artifact)")
    return PruneReport(title=f"{Path(path).name}: what was pruned", masks=masks, table=table,
                       degrees_after=degrees_after, notes=notes)
