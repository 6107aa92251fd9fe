"""`zoo bench --backend`: one table across backends and precisions, parity against torch fp32, rows that carry
their backend through JSON so `--compare` gates each backend on its own, and one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from clikit import one_line_error, zoo_in_process
from clikit import zoo as zoo_cli

import zoo
from zoo.bench.report import BenchReport, compare
from zoo.errors import InputError
from zoo.runtimes.calibration import BUNDLED

pytest.importorskip("onnxruntime", reason="the runtimes extra: pip install 'cvzoo[runtimes]'")

FAST = {"warmup": 0, "iters": 2, "flops": False, "memory": False, "threads": 1}


@pytest.fixture(scope="module")
def bench_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's ZOO_HOME: the per-test one (conftest's zoo_home) comes after module-scoped fixtures."""
    return tmp_path_factory.mktemp("bench_home")


@pytest.fixture(scope="module")
def report(bench_home: Path) -> BenchReport:
    """resnet18 at 64x64 on torch and onnxruntime at fp32 and bf16 (onnxruntime runs fp32 only: skipped)."""
    with pytest.MonkeyPatch.context() as mp:  # its exports and history land in this module's home
        mp.setenv("ZOO_HOME", str(bench_home))
        return zoo.benchmark("resnet18", batch_sizes=[1, 2], input_size=64, backends="torch,onnxruntime",
                             precisions="fp32,bf16", weights="random", **FAST)


def test_the_module_report_exports_into_its_own_home(report: BenchReport, bench_home: Path) -> None:
    assert any((bench_home / "exports" / "resnet18").iterdir())  # not the user's cache


def test_one_report_holds_every_backend_and_precision(report: BenchReport) -> None:
    got = {(r.backend, r.precision, r.kind, r.batch_size) for r in report.rows}
    assert got == {(b, p, k, bs) for b, p in (("torch", "fp32"), ("torch", "bf16"), ("onnxruntime", "fp32"))
                   for k in ("forward", "end-to-end") for bs in (1, 2)}
    assert all(r.ok and r.p50_ms and r.first_call_ms for r in report.rows), [r.error for r in report.rows]
    assert any("onnxruntime skipped at bf16" in n for n in report.notes)


def test_runtime_rows_carry_export_compile_and_parity(report: BenchReport) -> None:
    ort = [r for r in report.rows if r.backend == "onnxruntime"]
    assert all(r.export_s is not None and r.export_s >= 0 and r.compile_s is not None for r in ort)
    assert all(r.parity_max_abs is not None and r.parity_max_abs < 1e-3 for r in ort)
    ref = [r for r in report.rows if r.backend == "torch" and r.precision == "fp32"]
    assert all(r.parity_max_abs == 0.0 for r in ref)
    bf16 = [r for r in report.rows if r.backend == "torch" and r.precision == "bf16"]
    assert all(r.parity_max_abs is not None and r.parity_max_abs > 0 for r in bf16)  # lossy, and measured


def test_json_keeps_the_backend_and_compare_gates_per_backend(report: BenchReport, tmp_path: Path) -> None:
    back = BenchReport.from_json(report.to_json())
    assert [r.backend for r in back.rows] == [r.backend for r in report.rows]
    assert compare(back, report).passed
    # a baseline whose onnxruntime rows were 10x faster: only those rows regress
    data = json.loads(report.to_json())
    for row in data["rows"]:
        if row["backend"] == "onnxruntime":
            row["p50_ms"] /= 10
    comp = compare(report, BenchReport.from_dict(data))
    bad = [r for r in comp.rows if r.verdict == "regression"]
    assert bad and all("[onnxruntime]" in r.label for r in bad)
    assert not comp.passed
    # rows of another backend never stand in for each other
    assert len({r.key() for r in report.rows}) == len(report.rows)


def test_a_detector_row_says_whether_the_detections_match(shared_data: Path) -> None:
    """yolov3-tiny with the official weights: the onnxruntime row's detections on a shared photo are torch's."""
    model = zoo.load("yolov3-tiny", weights=shared_data / "yolov3-tiny.weights")
    photo = shared_data / "images" / "grace_hopper.jpg"
    rep = zoo.benchmark(model, input_size=416, backends="torch,onnxruntime", e2e=False, parity_image=str(photo),
                        **FAST)
    (ort,) = [r for r in rep.rows if r.backend == "onnxruntime"]
    assert ort.ok and ort.parity_detections == "same", ort.parity_detections
    (ref,) = [r for r in rep.rows if r.backend == "torch"]
    assert ref.parity_detections == "same (reference)"
    assert len(model.predict(str(photo)).detections) > 0  # the comparison had boxes to compare


def test_cli_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    code, stdout, err = zoo_in_process(capsys, "bench", "resnet18", "--backend", "torch,onnxruntime", "--size", "64",
                                       "--iters", "2", "--warmup", "0", "--no-flops", "--no-e2e", "--random-init",
                                       "--threads", "1", "--json", str(out))
    assert code == 0, err
    assert "parity vs torch fp32" in stdout and "onnxruntime fp32" in stdout
    rows = json.loads(out.read_text())["rows"]
    assert {r["backend"] for r in rows} == {"torch", "onnxruntime"}
    code, _, err = zoo_in_process(capsys, "bench", "resnet18", "--backend", "torch,onnxruntime", "--size", "64",
                                  "--iters", "2", "--warmup", "0", "--no-flops", "--no-e2e", "--random-init",
                                  "--threads", "1", "-q", "--compare", str(out), "--max-regression", "100")
    assert code == 0, err


@pytest.mark.parametrize("args,message", [
    (["--backend", "onnxrt"], "unknown backend 'onnxrt'"),
    (["--backend", "onnxruntime", "--compile"], "--compile, --fuse and --channels-last are torch's"),
    (["--precision", "bf17"], "unknown precision 'bf17'"),
    (["--backend", "onnxruntime", "--precision", "bf16"], "no backend runs the precision asked for"),
])
def test_bad_backend_options_are_one_line(args: list[str], message: str) -> None:
    res = zoo_cli("bench", "resnet18", "--iters", "1", "--random-init", "-q", *args)
    assert res.returncode != 0
    assert message in one_line_error(res)


@pytest.mark.parametrize("args,message", [
    (["--backend", "onnxruntime"], "--calibration is for reduced precisions"),
    (["--precision", "bf16", "--optimize"], "--optimize guards its reduced precisions on the bundled photos"),
])
def test_calibration_where_it_does_not_apply_is_one_line(args: list[str], message: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = zoo_in_process(capsys, "bench", "resnet18", "--random-init", "-q", "--calibration", str(tmp_path),
                                  *args)
    assert code == 2 and message in err, err


def test_int8_rows_are_calibrated_and_guarded_on_the_calibration_folder(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for p in sorted(BUNDLED.glob("*.jpg"))[:2]:
        shutil.copy(p, photos)
    report = zoo.benchmark("resnet18", backends="onnxruntime", precisions="int8", calibration=photos,
                           weights="random", input_size=64, e2e=False, **FAST)
    notes = " | ".join(report.notes)
    assert "onnxruntime int8: onnxruntime" in notes and f"calibrated on 2 photos ({photos.resolve()})" in notes
    assert "resnet18 onnxruntime int8 accuracy guard on 2 photos and 4 held-out views of them" in notes, notes
    assert all(r.guard for r in report.rows if r.precision == "int8"), [r.guard for r in report.rows]


def test_bench_api_refuses_an_unknown_backend() -> None:
    with pytest.raises(InputError, match="did you mean 'openvino'"):
        zoo.benchmark("resnet18", backends="openvin", **FAST)
