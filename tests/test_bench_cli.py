"""`zoo bench` on the command line: the CI command from the issue, --compare exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import zoo_in_process

from zoo.bench.report import BenchReport


def test_issue_command_writes_parseable_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    code, stdout, err = zoo_in_process(capsys, "bench", "resnet18", "--iters", "3", "--batch-size", "1,2", "--json", str(out))
    assert code == 0, err
    data = json.loads(out.read_text())
    assert data["env"]["torch"] and data["env"]["cpu_model"]
    rows = [(r["kind"], r["batch_size"], r["status"], r["iters"]) for r in data["rows"]]
    assert rows == [("forward", 1, "ok", 3), ("end-to-end", 1, "ok", 3), ("forward", 2, "ok", 3),
                    ("end-to-end", 2, "ok", 3)]
    assert BenchReport.from_json(out).row("resnet18", 2).input_size == "224x224"
    assert "resnet18" in stdout and "p50 ms" in stdout  # the table


def test_compare_gate_exit_codes_and_csv_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "base.json"
    args = ["bench", "resnet18", "--input-size", "32", "--iters", "2", "--warmup", "0", "--no-e2e", "--no-flops"]
    assert zoo_in_process(capsys, *args, "--json", str(base), "-q")[0] == 0
    rep = BenchReport.from_json(base)
    slow, fast = tmp_path / "slow.json", tmp_path / "fast.json"
    for path, factor in ((slow, 1000.0), (fast, 0.001)):  # baseline 1000x slower / faster than any real run
        for r in rep.rows:
            r.p50_ms = r.p50_ms * factor
        rep.to_json(path)
        for r in rep.rows:
            r.p50_ms = r.p50_ms / factor
    code, stdout, err = zoo_in_process(capsys, *args, "--compare", str(slow), "--csv", "-")
    assert code == 0, err
    assert stdout.splitlines()[0].startswith("model,kind,batch_size")  # CSV alone on stdout
    assert BenchReport.from_csv(stdout).row("resnet18", 1).ok
    assert "PASS" in err and "p50 ms" in err  # table and verdict moved to stderr
    code, stdout, err = zoo_in_process(capsys, *args, "--compare", str(fast), "--max-regression", "0.5")
    assert code == 3
    assert "FAIL" in stdout + err and "regression" in stdout + err


def test_plot_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "p.png"
    code, _, err = zoo_in_process(capsys, "bench", "resnet18", "--input-size", "32", "--batch-size", "1,2", "--iters", "2",
                                  "--warmup", "0", "--plot", str(png), "-q")
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("args", "code", "text"), [
    (["bench", "resnt18"], 2, "did you mean 'resnet18'"),
    (["bench", "resnet18", "--batch-size", "1,x"], 2, "--batch-size wants comma-separated integers"),
    (["bench", "resnet18", "--compare", "/nonexistent/base.json"], 2, "cannot read benchmark report"),
])
def test_errors_are_one_line(args: list[str], code: int, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    got, _, err = zoo_in_process(capsys, *args)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert got == code, err
    assert len(lines) == 1 and text in lines[0] and "Traceback" not in err


def test_no_names_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, err = zoo_in_process(capsys, "bench")
    assert code == 2 and "--task" in stdout + err
