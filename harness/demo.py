"""``make demo``: the whole cross-account flow, locally, in an IAM-enforcing AWS emulator.

Deploys both stacks with the real CDK CLI into MiniStack (accounts A and B), puts alice in the
group, lets her assume the role with the ``cross-account`` client and use it, shows every
unauthorized attempt refused, then destroys the stacks and stops the emulator. Prints a table
step | expected | got and exits 1 if any row differs.

Usage: ``python -m harness.demo [--keep] [--quiet]`` (``make demo`` does the set-up first).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import textwrap
from collections.abc import Sequence
from typing import Final

from harness.emulator.flow import Row, run_flow
from harness.node import PROJECT_ROOT

#: Every line the demo prints fits a terminal of this many columns; longer cells wrap inside their column.
WIDTH: Final = 100
SEPARATOR: Final = " | "
#: The mark on a row that differs; its no-break space keeps it on one line when the cell wraps.
DIFFERS: Final = "<--\u00a0DIFFERS"
#: No column is squeezed below this (the DIFFERS mark fits on a line of its own).
MIN_COLUMN: Final = len(DIFFERS)


def table(rows: Sequence[Row], width: int = WIDTH) -> str:
    """A plain-text table: step | expected | got, with a mark on every row that differs.

    Columns keep their natural width while the table fits in `width`; past that the widest of
    expected and got gives way first, and its cells wrap (at spaces, else after an ARN's ``/`` or ``:``).
    """
    headers = ("step", "expected", "got")
    cells = [headers, *[(r.step, r.expected, r.got if r.ok else f"{r.got}  {DIFFERS}") for r in rows]]
    widths = _fit([max(len(row[i]) for row in cells) for i in range(3)], width - 2 * len(SEPARATOR))
    lines = []
    for row in cells:
        wrapped = [_wrap(cell, column) for cell, column in zip(row, widths, strict=True)]
        for parts in itertools.zip_longest(*wrapped, fillvalue=""):
            line = SEPARATOR.join(part.ljust(column) for part, column in zip(parts, widths, strict=True))
            lines.append(line.rstrip().replace("\u00a0", " "))
    lines.insert(1, "-+-".join("-" * column for column in widths))
    return "\n".join(lines)


def _fit(widths: list[int], room: int) -> list[int]:
    """Narrow the widest value column, one character at a time, until the columns fit in `room`.

    The first column (the step, a label) keeps its width while the others can still give way.
    """
    widths = list(widths)
    while sum(widths) > room:
        narrowable = [i for i in range(1, len(widths)) if widths[i] > MIN_COLUMN] or [0]
        widest = max(narrowable, key=lambda i: widths[i])
        if widths[widest] <= MIN_COLUMN:
            break
        widths[widest] -= 1
    return widths


def _wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width`: words are kept whole when they fit, long ones split after / or :."""
    lines = []
    for line in textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]:
        while len(line) > width:
            cut = max(line.rfind("/", 0, width), line.rfind(":", 0, width)) + 1 or width
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return lines


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
        print(f"logs: {result.workspace.root.relative_to(PROJECT_ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
