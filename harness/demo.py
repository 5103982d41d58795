"""``make demo``: the whole cross-account flow, locally, in an IAM-enforcing AWS emulator.

Deploys both stacks with the real CDK CLI into MiniStack (accounts A and B), puts alice in the
group, lets her assume the role with the ``cross-account`` client and use it, shows every
unauthorized attempt refused, then destroys the stacks and stops the emulator. Prints a table
step | expected | got and exits 1 if any row differs.

Usage: ``python -m harness.demo [--keep] [--quiet]`` (``make demo`` does the set-up first).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from harness.emulator.flow import Row, run_flow


def table(rows: Sequence[Row]) -> str:
    """A plain-text table: step | expected | got, with a mark on every row that differs."""
    headers = ("step", "expected", "got")
    cells = [headers, *[(r.step, r.expected, r.got if r.ok else f"{r.got}  <-- DIFFERS") for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(3)]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] = sys.argv[1:]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the run folder (logs, cloud assemblies)")
    parser.add_argument("--quiet", action="store_true", help="print only the table")
    args = parser.parse_args(argv)
    echo = None if args.quiet else (lambda text: print(text, flush=True))
    result = run_flow(keep=args.keep, echo=echo)
    print()
    print(table(result.rows))
    print()
    failed = [row for row in result.rows if not row.ok]
    verdict = "every row as expected" if not failed else f"{len(failed)} row(s) differ"
    print(f"{verdict}; {result.seconds:.1f} s after set-up (emulator start to stop)")
    if failed or args.keep:
        print(f"logs: {result.workspace.root}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
