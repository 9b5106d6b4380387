"""``sparsegnn compile``: precompile the kernels that artifacts need, into a bundle an app
ships (no compiling on a fresh device)."""

from __future__ import annotations

from pathlib import Path


def cmd_compile(args) -> int:
    from ..runtime.compile import CompileError, compile_kernels

    print(f"compiling the kernels of {len(args.artifacts)} artifact(s) for {args.target} "
          f"(each once, on every kind of input; minutes on a small machine)")
    try:
        manifest = compile_kernels(args.artifacts, args.out, target=args.target,
                                   progress=lambda line: print(f"  {line}", flush=True))
    except CompileError as exc:
        print(f"sparsegnn compile: error: {exc}")
        return 1
    print(f"wrote {args.out}: {manifest['kernels']} kernels, {manifest['bytes'] / 2**20:.1f} MiB, "
          f"{manifest['seconds']} s")
    print(f"use it: SPARSEGNN_KERNELS={args.out} (or ship it as sparsegnn/_precompiled)")
    return 0


def register(commands) -> None:
    """Declare this module's command(s) on the ``commands`` subparsers."""
    from ..kernels._precompiled import TARGETS

    compile_ = commands.add_parser(
        "compile", help="precompile the kernels that artifacts need, for an app to ship",
        description="Compile, once, every kernel specialisation that the given artifacts run "
                    "(small and large graphs, dense and CSR features, weighted and "
                    "unweighted edges, one thread and all) for a named CPU target, into a "
                    "folder an app ships. A runtime pointed at it (SPARSEGNN_KERNELS=DIR) "
                    "loads the kernels instead of compiling them, on any CPU with the "
                    "target's features. A bundle is machine code: ship only bundles you built.")
    compile_.add_argument("artifacts", nargs="+", type=Path, help=".sgnn artifacts")
    compile_.add_argument("--out", type=Path, required=True, help="the bundle folder to write")
    compile_.add_argument("--target", choices=sorted(TARGETS), default="x86-64-v3",
                          help="CPU target: x86-64-v3 (AVX2+FMA, the default), x86-64-v4 "
                               "(AVX-512), x86-64-v2, or the architecture's generic baseline")
    compile_.set_defaults(handler=cmd_compile)
