"""Cold `zoo list` wall time (a fresh process each run) against other zoos' listing, side by side.

    .venv/bin/python benchmarks/list_cold.py [--runs 7]

Each command runs in a new interpreter, alternating, so import costs are included as a user sees them.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = {
    "zoo list (console script)": [str(BIN / "zoo"), "list", "--json"],
    "python -m zoo.cli list": [sys.executable, "-m", "zoo.cli", "list", "--json"],
    "zoo.list_models() (API)": [sys.executable, "-c", "import zoo; zoo.list_models()"],
    "timm.list_models()": [sys.executable, "-c", "import timm; timm.list_models()"],
    "torchvision.models.list_models()": [sys.executable, "-c", "import torchvision; torchvision.models.list_models()"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    cmds = {k: v for k, v in COMMANDS.items() if "timm" not in k or importlib.util.find_spec("timm")}
    if len(cmds) < len(COMMANDS):
        print("(timm not installed: pip install timm, or make bench, to compare with it)")
    if not shutil.which(COMMANDS["zoo list (console script)"][0]):
        cmds.pop("zoo list (console script)")
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(args.runs):
        for name, cmd in cmds.items():
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times[name].append(time.perf_counter() - t)
    base = statistics.median(times[next(iter(times))])
    print(f"{'command':36s} {'median s':>9s} {'min s':>7s} {'vs zoo list':>12s}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:36s} {med:9.3f} {min(ts):7.3f} {med / base:11.2f}x")
    print(f"goal: zoo list under 0.3 s -> {'met' if base < 0.3 else 'NOT met'} ({base:.3f} s median of {args.runs})")


if __name__ == "__main__":
    main()
