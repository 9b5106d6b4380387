"""The ``sparsegnn`` command line: one module per command (its handler and its ``register``,
which declares its options), options shared by several commands declared once in ``_common``.

Commands import what they need when they run, so ``sparsegnn --help`` and ``sparsegnn datasets``
start without torch; the domain logic lives in the packages (``export.export_checkpoint``,
``prune.structured.prune_channels``, ``runtime.describe``, ``nn.checkpoint.pruning_extra``).
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from . import bench, compile, datasets, export, prune, quickstart, run, train, tune

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparsegnn",
        description="Prune, export and run graph neural networks on CPUs.")
    parser.add_argument("--version", action="version", version=f"sparsegnn {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for command in (datasets, train, prune, export, compile, run, bench, tune, quickstart):
        command.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `prune sweep`, `prune auto` and `bench compare` read better; argparse needs one name
    if argv[:2] in (["prune", "sweep"], ["prune", "auto"], ["bench", "compare"]):
        argv = [f"{argv[0]}-{argv[1]}", *argv[2:]]
    args = build_parser().parse_args(argv)
    from ..artifact import ArtifactError
    from ..data import DatasetError
    from ..sparse import SparseFormatError

    errors = (DatasetError, SparseFormatError, ArtifactError, FileNotFoundError, ValueError)
    if args.command in ("train", "export", "prune", "prune-sweep", "prune-auto", "bench",
                        "quickstart"):
        try:
            from ..nn import CheckpointError
        except ImportError:  # the runtime-only install has no torch
            pass
        else:
            errors += (CheckpointError,)
    if args.command == "bench-compare":
        from ..benchmark import BenchSchemaError

        errors += (BenchSchemaError,)
    # TuningError, PatternError and the runtime's errors are ValueErrors, caught above
    try:
        return args.handler(args)
    except errors as exc:
        print(f"sparsegnn {args.command}: error: {exc}", file=sys.stderr)
        return 1

