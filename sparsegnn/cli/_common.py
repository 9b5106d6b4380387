"""Options and output helpers shared by the commands (declared once)."""

from __future__ import annotations

import argparse
from pathlib import Path

# The kinds of sparsegnn.nn.MODELS, named here so that parsing arguments imports no torch
# (tests/cli checks that the two agree).
MODEL_KINDS = ("gcn", "sage", "gin", "gat", "sgc")


def _console():
    """Rich output; redirected to a file or pipe, lines are not wrapped at 80 columns and
    tables get room for every column."""
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True, width=200)
    return console


def _add_data_options(parser: argparse.ArgumentParser, *, download: bool = False,
                      mirror: bool = False) -> None:
    """The data options, declared once: ``--data-dir`` for every command that reads datasets;
    ``--download`` and ``--mirror`` where the command can fetch them."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data root laid out like shared/datasets (default: $SPARSEGNN_DATA, "
                             "../shared/datasets, then the download cache)")
    if download:
        parser.add_argument("--download", action="store_true",
                            help="fetch missing dataset files (sha256-checked) into the cache")
    if download or mirror:
        parser.add_argument("--mirror", default=None,
                            help="base URL laid out like the data root, used instead of the "
                                 "public sources when downloading")


def _add_pruning_options(parser: argparse.ArgumentParser) -> None:
    """Criterion and schedule options shared by `prune` and `prune sweep`."""
    parser.add_argument("--criterion",
                        choices=("magnitude", "random", "saliency", "l1", "ig", "explainer"),
                        default="magnitude",
                        help="weight importance: |w|, random, |w·dL/dw| (gradient saliency, "
                             "first-order Taylor), |w| after L1-regularised training, |integrated "
                             "gradients| of each weight, or |w| times a GNNExplainer-style "
                             "learned mask of its input channel (explainer)")
    parser.add_argument("--schedule", choices=("oneshot", "iterative", "gradual"),
                        default="oneshot")
    parser.add_argument("--rounds", type=int, default=3,
                        help="pruning steps of the iterative and gradual schedules")
    parser.add_argument("--scope", choices=("global", "layer"), default="global",
                        help="rank all weights together, or prune every layer to the same "
                             "sparsity")
    parser.add_argument("--pattern", default="unstructured", type=_pattern_name,
                        help="which weights go together: unstructured (default); RxC blocks "
                             "of R inputs x C outputs (1x4, 1x8, 1x16 along the outputs, 4x1 "
                             "along the inputs: the runtime's kernels turn them into more "
                             "speed); N:M keeps N of every M consecutive inputs (2:4 is 50 %%)")
    parser.add_argument("--edge-criterion", default="auto",
                        choices=("auto", "influence", "agreement", "learned", "explainer",
                                 "degree", "random", "score"),
                        help="auto (default): influence for GCN, agreement for other models; "
                             "influence: greedy removal, in 25 steps, of the edges whose removal "
                             "moves the model's outputs least from its full-graph predictions, "
                             "never a node's last neighbour while others can go (GCN); "
                             "agreement: edges whose ends the model puts in different classes "
                             "first, then by degree; learned: UGS-style jointly trained edge "
                             "mask (GCN); explainer: GNNExplainer-style learned edge mask that "
                             "keeps the model's predictions (GCN); degree: 1/sqrt(deg u deg v) "
                             "heuristic; random; score "
                             "(recommenders: the interactions scored lowest). Link prediction: "
                             "auto is degree; recommenders: auto is score")


def _pattern_name(text: str) -> str:
    """argparse type: a valid pattern name, normalised (checked before anything loads)."""
    from ..patterns import Pattern, PatternError

    try:
        return Pattern.parse(text).name
    except PatternError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
