"""``sparsegnn datasets``: what is registered, found and fetched."""

from __future__ import annotations

from ._common import _add_data_options, _console


def cmd_datasets(args) -> int:
    from rich.table import Table

    from ..data import available, download_files, load
    from ..data.registry import REGISTRY, data_roots

    console = _console()
    for name in args.fetch or []:
        if name not in REGISTRY or not REGISTRY[name].files():
            console.print(f"[red]cannot download {name!r}: not a registered file dataset")
            return 2
        root = download_files(REGISTRY[name].files(), args.data_dir, mirror=args.mirror,
                              progress=console.print)
        console.print(f"{name}: files ready under {root}")
    table = Table(title="datasets")
    for column in ("name", "format", "found under", "description"):
        table.add_column(column)
    if args.counts:
        for column in ("nodes", "edges", "features", "classes", "graphs"):
            table.add_column(column, justify="right")
    for spec, root in available(args.data_dir):
        found = "built in" if spec.kind == "synthetic" else (str(root) if root else "[dim]absent")
        row = [spec.name, spec.kind, found, spec.description]
        if args.counts:
            if root is None and spec.kind != "synthetic":
                row += [""] * 5
            else:
                info = load(spec.name, args.data_dir).summary()
                row += [f"{info[k]:,}" if k in info else "" for k in
                        ("nodes", "edges", "features", "classes", "graphs")]
        table.add_row(*row)
    console.print(table)
    console.print("searched: " + ", ".join(str(r) for r in data_roots(args.data_dir)))
    return 0


def register(commands) -> None:
    """Declare this module's command(s) on the ``commands`` subparsers."""
    datasets = commands.add_parser(
        "datasets", help="list the datasets found under the data root",
        description="List every registered dataset and where it was found; optionally fetch "
                    "dataset files (checked against their sha256) into the cache.")
    _add_data_options(datasets, mirror=True)
    datasets.add_argument("--fetch", nargs="+", metavar="NAME",
                          help="download these datasets into --data-dir or the cache")
    datasets.add_argument("--counts", action="store_true",
                          help="load each dataset found and show its node/edge/feature counts")
    datasets.set_defaults(handler=cmd_datasets)
