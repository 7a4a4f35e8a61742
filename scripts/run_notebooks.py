#!/usr/bin/env python
"""Execute the notebook sequence headlessly with papermill (the main job behind ``make run``).

Every ``notebooks/NN_*.ipynb`` runs in order with ``PROFILE`` injected into its ``parameters``
cell. Results land under ``--out`` (default ``build/``)::

    build/notebooks/NN_name.ipynb   executed notebooks (with outputs)
    build/figures/*.png             every figure the notebooks save
    build/tables/*.csv, *.md        result tables
    build/SUMMARY.md                one line per notebook: status and wall time
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="quick", choices=["smoke", "quick", "paper"])
    parser.add_argument("--out", default="build", type=Path)
    parser.add_argument("--only", nargs="*", help="run only notebooks whose name contains one of these")
    args = parser.parse_args(argv)

    import papermill as pm

    out = (args.out if args.out.is_absolute() else REPO / args.out).resolve()
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    os.environ["DEBLURLAB_BUILD"] = str(out)  # the kernels inherit it; figures/tables go there
    os.environ.setdefault("MPLBACKEND", "Agg")
    # The kernels run in notebooks/, so a relative data or weights folder given from the shell
    # would point elsewhere there: make them absolute against the caller's directory.
    for var in ("DEBLURLAB_DATA", "DEBLURLAB_WEIGHTS"):
        if os.environ.get(var):
            os.environ[var] = str(Path(os.environ[var]).expanduser().resolve())

    notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        notebooks = [nb for nb in notebooks if any(key in nb.name for key in args.only)]
    if not notebooks:
        print("no notebooks matched", file=sys.stderr)
        return 2

    data = os.environ.get("DEBLURLAB_DATA") or "(unset: embedded synthetic data)"
    print(f"profile={args.profile}  DEBLURLAB_DATA={data}  output={out}")
    rows, failed = [], 0
    for nb in notebooks:
        target = out / "notebooks" / nb.name
        print(f"-> {nb.name}", flush=True)
        start = time.perf_counter()
        status = "ok"
        try:
            pm.execute_notebook(
                str(nb), str(target), parameters={"PROFILE": args.profile},
                cwd=str(nb.parent), kernel_name="python3", progress_bar=True,
            )
        except Exception as exc:  # papermill already wrote the partial notebook; keep going
            status = f"FAILED: {type(exc).__name__}"
            failed += 1
            print(f"   {status} (see {target})", file=sys.stderr)
        seconds = time.perf_counter() - start
        rows.append(f"| {nb.name} | {status} | {seconds:.0f} s |")
        print(f"   {status} in {seconds:.0f} s", flush=True)

    summary = out / "SUMMARY.md"
    summary.write_text(
        f"# Notebook run (PROFILE={args.profile})\n\nDEBLURLAB_DATA: {data}\n\n"
        "| notebook | status | wall time |\n|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    print(f"\nexecuted notebooks: {out / 'notebooks'}\nfigures: {out / 'figures'}\n"
          f"tables: {out / 'tables'}\nsummary: {summary}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
