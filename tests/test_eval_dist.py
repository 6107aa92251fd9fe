"""`zoo eval` under `torchrun --nproc_per_node 2` (gloo, CPU) gives the numbers one process gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from evalkit import make_coco, oracle

import zoo

TESTS = Path(__file__).resolve().parent

SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from evalkit import oracle_spec
from zoo.plugin_manager import default_registry
default_registry().add(oracle_spec({ann!r}, perturb=0.2, false_positives=1))
from zoo.cli import main
main(["eval", "oracle", "--coco", {root!r}, "--json", "--no-progress", "--random-init", "--batch-size", "2",
      "--results", {results!r}])
"""


def test_torchrun_two_ranks_match_one_process(tmp_path: Path) -> None:
    root = tmp_path / "coco"
    ann = make_coco(root, n=7, seed=2)
    script = tmp_path / "run_eval.py"
    script.write_text(SCRIPT.format(tests=str(TESTS), ann=str(ann), root=str(root), results=str(tmp_path / "res.json")))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranked = json.loads(proc.stdout)  # rank 0 prints the only JSON document
    assert ranked["world_size"] == 2 and ranked["images_per_rank"] == [4, 3] and ranked["num_images"] == 7

    single = zoo.evaluate(oracle(ann, perturb=0.2, false_positives=1), coco=root, batch_size=3, progress=False)
    assert single.world_size == 1 and single.images_per_rank == [7]
    assert ranked["metrics"] == single.metrics
    assert ranked["num_predictions"] == single.num_predictions
    assert 5 < single.metrics["bbox"]["AP"] < 99.9
    assert len(json.loads((tmp_path / "res.json").read_text())) == single.num_predictions
