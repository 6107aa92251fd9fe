"""`zoo eval` under `torchrun --nproc_per_node 2` (gloo, CPU) gives the numbers one process gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
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
main(["eval", "oracle", "--coco", {root!r}, "--json", "--no-progress", "--random-init", "--batch-size", "2", "--device", "cpu",
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

    single = zoo.evaluate(oracle(ann, perturb=0.2, false_positives=1), coco=root, batch_size=3, progress=False,
                          device="cpu")
    assert single.world_size == 1 and single.images_per_rank == [7]
    assert ranked["metrics"] == single.metrics
    assert ranked["num_predictions"] == single.num_predictions
    assert 5 < single.metrics["bbox"]["AP"] < 99.9
    assert len(json.loads((tmp_path / "res.json").read_text())) == single.num_predictions


class _FakeGroup:
    """torch.distributed and torch.cuda as a torchrun rank sees them, with `gpus` visible GPUs (no real group)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, rank: int, local: int, per_node: int, gpus: int) -> None:
        import torch
        import torch.distributed as td

        self.backend: str | None = None
        self.cuda_set: list[int] = []
        for k, v in {"RANK": rank, "WORLD_SIZE": per_node, "LOCAL_RANK": local, "LOCAL_WORLD_SIZE": per_node}.items():
            monkeypatch.setenv(k, str(v))
        monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
        monkeypatch.setattr(torch.cuda, "set_device", self.cuda_set.append)
        monkeypatch.setattr(td, "is_initialized", lambda: False)
        monkeypatch.setattr(td, "init_process_group", lambda backend: setattr(self, "backend", backend))
        monkeypatch.setattr(td, "get_rank", lambda: rank)
        monkeypatch.setattr(td, "get_world_size", lambda: per_node)


def test_more_ranks_than_gpus_fall_back_to_cpu_when_the_device_was_auto(monkeypatch: pytest.MonkeyPatch,
                                                                          capsys: pytest.CaptureFixture) -> None:
    """`torchrun --nproc_per_node 2` on a one-GPU machine: rank 1 asked for cuda:1 and died ("invalid device
    ordinal"); now every rank runs on the CPU with gloo, and rank 0 says why and what to run."""
    from zoo.eval.dist import setup

    for rank in (0, 1):
        group = _FakeGroup(monkeypatch, rank=rank, local=rank, per_node=2, gpus=1)
        dist, device = setup("cuda", auto=True)
        assert device == "cpu" and group.backend == "gloo" and group.cuda_set == []
        assert dist.world_size == 2 and dist.rank == rank
        err = capsys.readouterr().err
        assert ("--nproc_per_node 1" in err) == (rank == 0) and len(err.splitlines()) == (rank == 0)


def test_more_ranks_than_gpus_with_cuda_named_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from zoo.errors import InputError
    from zoo.eval.dist import setup

    group = _FakeGroup(monkeypatch, rank=0, local=0, per_node=2, gpus=1)
    with pytest.raises(InputError, match=r"started 2 processes on this node but only 1 CUDA GPU\(s\) .*"
                                         r"torchrun --nproc_per_node 1.*use device cpu") as info:
        setup("cuda", auto=False)
    assert "\n" not in str(info.value) and group.backend is None  # refused before joining any group
    assert info.value.named().startswith("--device cuda:") and info.value.named().endswith("or use --device cpu")


def test_one_rank_per_gpu_takes_its_own_gpu_with_nccl(monkeypatch: pytest.MonkeyPatch) -> None:
    from zoo.eval.dist import setup

    group = _FakeGroup(monkeypatch, rank=1, local=1, per_node=2, gpus=2)
    _, device = setup("cuda", auto=True)
    assert device == "cuda:1" and group.backend == "nccl" and group.cuda_set == [1]
    _FakeGroup(monkeypatch, rank=0, local=0, per_node=2, gpus=2)
    assert setup("cpu")[1] == "cpu"  # a CPU run never looks at GPUs
