"""Command line: ``python -m harness.simulate [cdk.out]`` prints the standard scenarios and their decisions."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence

from harness.simulate.howto import howto_model
from harness.simulate.model import SimulationError, load_assembly
from harness.simulate.scenarios import Outcome, run_scenarios, standard_scenarios


def format_table(outcomes: Sequence[Outcome]) -> str:
    """A readable table: scenario, expected, decision, and the statements that decided it."""
    rows = [("", "scenario", "expected", "decision", "decided by")]
    for outcome in outcomes:
        mark = "ok" if outcome.scenario.expect is not None and outcome.as_expected else "  "
        if not outcome.as_expected:
            mark = "!!"
        reasons = "; ".join(str(r) for d in outcome.deciding for r in d.reasons) or "(no reason reported)"
        rows.append((mark, outcome.scenario.name, outcome.scenario.expect or "-", outcome.result, reasons))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4] for row in rows]
    unexpected = sum(not o.as_expected for o in outcomes)
    lines.append(f"{len(outcomes)} scenarios, {unexpected} unexpected" + (" (marked !!)" if unexpected else ""))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.simulate [cdk.out]``: 0 all as expected, 1 some unexpected, 2 error."""
    parser = argparse.ArgumentParser(prog="python -m harness.simulate", description=main.__doc__)
    parser.add_argument("cdk_out", nargs="?", default="cdk.out", help="cloud assembly directory (default: cdk.out)")
    parser.add_argument("--role", help="role name or ARN, if the assembly has several")
    parser.add_argument("--group", help="group name or ARN, if the assembly has several")
    parser.add_argument("--external-id", help="the right external ID (default: the trust's first one)")
    parser.add_argument(
        "--howto", action="store_true", help="simulate the original how-to's policies instead (negative control)"
    )
    args = parser.parse_args(argv)
    try:
        if args.howto:
            model, source = howto_model(), "the original how-to's policies"
        else:
            model, source = load_assembly(args.cdk_out), args.cdk_out
        scenarios = standard_scenarios(model, role_name=args.role, group_name=args.group, external_id=args.external_id)
        outcomes = run_scenarios(scenarios)
    except (SimulationError, OSError, subprocess.TimeoutExpired) as error:
        print(f"simulate: {error}", file=sys.stderr)
        return 2
    role, group = model.role(args.role), model.group(args.group)
    print(f"IAM simulation of {source}: role {role.arn}, group {group.arn}")
    print(format_table(outcomes))
    return 0 if all(o.as_expected for o in outcomes) else 1
