"""``sparsegnn tune``: this machine's kernel costs for the planner."""

from __future__ import annotations

from pathlib import Path


def cmd_tune(args) -> int:
    from ..runtime.tuning import DEFAULT, calibrate, load_tuning, save_tuning, tuning_path

    if args.show:
        tuning = load_tuning(args.out) if args.out else load_tuning()
        source = args.out or (tuning_path() if tuning is not DEFAULT else "built-in defaults")
        print(f"tuning in use: {source}")
    else:
        print(f"measuring the kernels on this machine ({args.rows:,} rows, {args.rounds} "
              f"rounds, the median of each price; the first run compiles them)")
        tuning = calibrate(rows=args.rows, rounds=args.rounds,
                           progress=lambda step: print(f"  {step} ..."))
        path = save_tuning(tuning, args.out)
        print(f"wrote {path}")
    for name, value in tuning.to_json().items():
        print(f"  {name:28s} {value}")
    print("crossovers for a 256 x 256 layer (weight density below which a sparse kernel beats "
          "the dense one):")
    for line in _crossovers(tuning):
        print(f"  {line}")
    return 0


def _crossovers(tuning) -> list[str]:
    """Where each sparse kernel's price meets the dense product's, for a 256 x 256 layer."""
    width, lanes = 256, 16
    dense = min(width * width * tuning.vector_madd + width * tuning.vector_element,
                width * width * tuning.dense_madd)
    panels = (dense - 2 * width * tuning.panel_element) / (width * width * tuning.panel_madd)
    vectors = (dense - width * tuning.vector_element) / (width * width * tuning.vector_madd)
    return [f"node panels (unstructured, 4x1): {100 * min(max(panels, 0), 1):.0f} % dense",
            f"output vectors (blocks of {lanes} outputs): {100 * min(max(vectors, 0), 1):.0f} % "
            f"of the vectors stored"]


def register(commands) -> None:
    """Declare this module's command(s) on the ``commands`` subparsers."""
    tune = commands.add_parser(
        "tune", help="measure this machine's kernel costs for the runtime's planner",
        description="Time the runtime's kernels (BLAS, node panels, output vectors, CSR "
                    "features) on synthetic layers, fit the cost model the session uses to "
                    "choose a kernel per weight, and cache it for this machine (sessions "
                    "then use it; without it, they use figures measured on the development "
                    "machine). Needs only numpy + numba.")
    tune.add_argument("--rows", type=int, default=8192, help="rows of the synthetic layers")
    tune.add_argument("--rounds", type=int, default=5,
                      help="measure this many times and keep each price's median (a busy "
                           "spell of a shared machine skews one round)")
    tune.add_argument("--out", type=Path, default=None,
                      help="write (or with --show, read) this file instead of the cache")
    tune.add_argument("--show", action="store_true",
                      help="print the tuning in use without measuring")
    tune.set_defaults(handler=cmd_tune)
