"""The convergence soak: the property test's state machine, for longer and on fresh examples.

`tests/integration/test_convergence_property.py` runs 200 derandomized examples of two steps
in the normal test run. This runs the same state machine by hand, as long as you like, with new
random examples each time (or the fixed ones, with --derandomize), on a local stack of its own:

    .venv/bin/python bench/soak.py --examples 2000 --steps 6

It runs pytest on that one test with the settings in the environment
(BROADSHEET_CONVERGENCE_EXAMPLES, _STEPS, _RANDOM, _FIGURES), prints the run's figures (events
delivered, duplicates, reorderings, faults injected by kind, seconds spent sending, draining and
checking) from `bench/.work/soak-<time>.json`, and exits with pytest's status. A failure prints
the first example that did not converge, with the universe it started from.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/integration/test_convergence_property.py"


def main() -> int:
    """Run the soak; return pytest's exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000, help="examples to run (default 1000)")
    parser.add_argument("--steps", type=int, default=6, help="steps (batches of changes) per example")
    parser.add_argument(
        "--derandomize", action="store_true", help="the fixed examples of the test run instead of new ones"
    )
    parser.add_argument("--profile", type=Path, help="write a cProfile of the test process here")
    args = parser.parse_args()

    figures = ROOT / "bench" / ".work" / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json"
    env = os.environ | {
        "BROADSHEET_CONVERGENCE_EXAMPLES": str(args.examples),
        "BROADSHEET_CONVERGENCE_STEPS": str(args.steps),
        "BROADSHEET_CONVERGENCE_RANDOM": "" if args.derandomize else "1",
        "BROADSHEET_CONVERGENCE_FIGURES": str(figures),
    }
    profile = ["-m", "cProfile", "-o", str(args.profile)] if args.profile else []
    command = [sys.executable, *profile, "-m", "pytest", TEST, "-q", "-p", "no:cacheprovider"]
    started = time.monotonic()
    status = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    print(f"soak: {args.examples} examples of {args.steps} steps, {time.monotonic() - started:.0f} s")
    if figures.is_file():
        print(json.dumps(json.loads(figures.read_text()), indent=2))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
