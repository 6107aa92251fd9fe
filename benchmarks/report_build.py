"""How long `zoo report` takes for the whole registry without benchmarking (the issue's target: under a minute on
2 cores), in a fresh process per round so imports and plugin loading count, as a user would see it.

    .venv/bin/python benchmarks/report_build.py [--rounds 3] [--examples DIR] [--no-examples]

Uses the current ZOO_HOME (its cached weights draw examples; its bench history fills the latency columns).
Prints each round's wall time with the CPU model and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zoo.bench.env import cpu_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--examples", default=None, help="folder of photos (default: the zoo's sample photo)")
    ap.add_argument("--no-examples", action="store_true")
    args = ap.parse_args()
    extra = (["--examples", args.examples] if args.examples else []) + (["--no-examples"] if args.no_examples else [])
    print(f"CPU: {cpu_model()}, {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}; ZOO_HOME={os.environ.get('ZOO_HOME', '(default)')}")
    cmd = [sys.executable, "-m", "zoo.cli", "report", "--out"]
    times = []
    for i in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            res = subprocess.run(cmd + [str(Path(tmp) / "site"), *extra], capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            if res.returncode != 0:
                sys.exit(f"zoo report failed: {res.stderr.strip()}")
            print(f"round {i + 1}: {times[-1]:.1f} s  ({res.stderr.strip().splitlines()[-1]})")
    print(f"zoo report {' '.join(extra)}: best {min(times):.1f} s, worst {max(times):.1f} s over {len(times)} rounds "
          f"(target: under 60 s); load now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
