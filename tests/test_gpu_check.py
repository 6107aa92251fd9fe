"""benchmarks/gpu_check.sh is ready for a GPU machine (issue 17): it parses, and its summary computes the issue's
goals from the reports it writes. The whole script's logic runs on CPU with GPU_CHECK_DRY=1 (about a minute:
not part of the suite; see the script's header)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from zoo.bench.report import BenchReport, BenchRow

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"


def _summary_module():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("gpu_check_summary", ROOT / "benchmarks" / "gpu_check_summary.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the file runs
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_script_parses_and_refuses_no_argument() -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True).returncode == 0
    res = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 2 and "usage: bash benchmarks/gpu_check.sh OUT_DIR" in res.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_script_refuses_a_folder_with_an_earlier_runs_results(tmp_path: Path) -> None:
    """Its `zoo bench --json` calls never replace a file: a used OUT_DIR is refused before any GPU time."""
    (tmp_path / "anchor_resnet50.json").write_text("{}")
    res = subprocess.run(["bash", str(SCRIPT), str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 2 and "holds an earlier run's results" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["anchor_resnet50.json"]  # not even a log


def _row(model: str, bs: int, kind: str, p50: float, variant: str = "", **kw: object) -> BenchRow:
    return BenchRow(model=model, kind=kind, batch_size=bs, p50_ms=p50, mean_ms=p50, throughput=bs / (p50 / 1e3),
                    variant=variant, precision=kw.pop("precision", "fp16"), device="cuda", **kw)  # type: ignore[arg-type]


def _write(path: Path, rows: list[BenchRow]) -> None:
    path.write_text(BenchReport(rows=rows).to_json())


def test_summary_computes_the_goals(tmp_path: Path) -> None:
    _write(tmp_path / "sweep_fp16_default.json", [
        _row("yolov3-tiny", 32, "forward", 3.0), _row("yolov3-tiny", 32, "end-to-end", 5.0,
                                                     preprocess_ms=1.0, forward_ms=3.0, postprocess_ms=1.0),
        _row("resnet50", 32, "forward", 6.0), _row("resnet50", 32, "end-to-end", 40.0)])
    _write(tmp_path / "optimize_compile.json", [
        _row("resnet50", 32, "forward", 8.0, precision="fp32"),
        _row("resnet50", 32, "forward", 1.5, "optimize:chosen", channels_last=True, fused=True, compiled=True)])
    (tmp_path / "anchor_resnet50.json").write_text(json.dumps({"device": "cuda", "rows": [
        {"batch_size": 32, "model": "torchvision", "p50_ms": 4.6, "ratio_to_torchvision": 1.0},
        {"batch_size": 32, "model": "zoo.build", "p50_ms": 4.65, "ratio_to_torchvision": 4.65 / 4.6},
        {"batch_size": 32, "model": "torchvision+compile:reduce-overhead", "p50_ms": 1.8, "ratio_to_torchvision": 0.39}]}))
    mod = _summary_module()
    goals = {g.name.split(" >=")[0].split(" within")[0]: g for g in mod.goals(tmp_path)}
    tiny = goals["yolov3-tiny e2e bs32"]
    assert tiny.verdict == "PASS" and "60.0% of forward" in tiny.detail  # 6400 img/s e2e, 10667 forward
    assert goals["--optimize resnet50 bs32"].verdict == "PASS" and "= 4.00x" in goals["--optimize resnet50 bs32"].detail
    vs_compile = next(g for n, g in goals.items() if "torch.compile" in g.name)
    assert vs_compile.verdict == "PASS" and "= 1.20x" in vs_compile.detail
    assert goals["zoo eager resnet50"].verdict == "PASS"
    text = mod.summary(tmp_path)
    assert "yolov3-tiny" in text and "optimize" in text and "goals of issue 17:" in text


def test_summary_says_na_for_what_did_not_run(tmp_path: Path) -> None:
    _write(tmp_path / "sweep_fp16_default.json", [_row("yolov3-tiny", 32, "forward", 3.0),
                                                  _row("yolov3-tiny", 32, "end-to-end", 60.0)])
    goals = _summary_module().goals(tmp_path)
    assert goals[0].verdict == "FAIL" and "5.0% of forward" in goals[0].detail  # the starting point
    assert [g.verdict for g in goals[1:]] == ["n/a", "n/a", "n/a"]
    assert asdict(goals[1])["detail"]
