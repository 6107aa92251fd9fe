"""`zoo bench` on the command line: the CI command from the issue, --compare exit codes, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoo.bench.report import BenchReport
from zoo.cli import cli

ZOO = [sys.executable, "-m", "zoo.cli"]


def _zoo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ZOO + list(args), capture_output=True, text=True, timeout=600, env=dict(os.environ))


def test_issue_command_writes_parseable_json(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    res = CliRunner().invoke(cli, ["bench", "resnet18", "--iters", "3", "--batch-size", "1,2", "--json", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["env"]["torch"] and data["env"]["cpu_model"]
    rows = [(r["kind"], r["batch_size"], r["status"], r["iters"]) for r in data["rows"]]
    assert rows == [("forward", 1, "ok", 3), ("end-to-end", 1, "ok", 3), ("forward", 2, "ok", 3),
                    ("end-to-end", 2, "ok", 3)]
    assert BenchReport.from_json(out).row("resnet18", 2).input_size == "224x224"
    assert "resnet18" in res.output and "p50 ms" in res.output  # the table


def test_compare_gate_exit_codes_and_csv_to_stdout(tmp_path: Path) -> None:
    run = CliRunner()
    base = tmp_path / "base.json"
    args = ["bench", "resnet18", "--input-size", "32", "--iters", "2", "--warmup", "0", "--no-e2e", "--no-flops"]
    assert run.invoke(cli, [*args, "--json", str(base), "-q"]).exit_code == 0
    rep = BenchReport.from_json(base)
    slow, fast = tmp_path / "slow.json", tmp_path / "fast.json"
    for path, factor in ((slow, 1000.0), (fast, 0.001)):  # baseline 1000x slower / faster than any real run
        for r in rep.rows:
            r.p50_ms = r.p50_ms * factor
        rep.to_json(path)
        for r in rep.rows:
            r.p50_ms = r.p50_ms / factor
    ok = run.invoke(cli, [*args, "--compare", str(slow), "--csv", "-"])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.splitlines()[0].startswith("model,kind,batch_size")  # CSV alone on stdout
    assert BenchReport.from_csv(ok.stdout).row("resnet18", 1).ok
    assert "PASS" in ok.stderr and "p50 ms" in ok.stderr  # table and verdict moved to stderr
    bad = run.invoke(cli, [*args, "--compare", str(fast), "--max-regression", "0.5"])
    assert bad.exit_code == 3
    assert "FAIL" in bad.output and "regression" in bad.output


def test_plot_is_written(tmp_path: Path) -> None:
    png = tmp_path / "p.png"
    res = CliRunner().invoke(cli, ["bench", "resnet18", "--input-size", "32", "--batch-size", "1,2", "--iters", "2",
                                   "--warmup", "0", "--plot", str(png), "-q"])
    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("args", "code", "text"), [
    (["bench", "resnt18"], 2, "did you mean 'resnet18'"),
    (["bench", "resnet18", "--batch-size", "1,x"], 2, "--batch-size wants comma-separated integers"),
    (["bench", "resnet18", "--compare", "/nonexistent/base.json"], 2, "cannot read benchmark report"),
])
def test_errors_are_one_line(args: list[str], code: int, text: str) -> None:
    res = _zoo(*args)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.returncode == code, res.stderr
    assert len(lines) == 1 and text in lines[0] and "Traceback" not in res.stderr


def test_no_names_is_a_usage_error() -> None:
    res = CliRunner().invoke(cli, ["bench"])
    assert res.exit_code == 2 and "--task" in res.output
