"""The data the report's pages are built from: Pareto front, bench history (corrupt files included), model rows,
speed-ups, export coverage, the guarded output folder, and `zoo bench` keeping its runs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from reportkit import gpu_env, here_env, row, write_report

from zoo.bench.env import cpu_model
from zoo.bench.history import machine_fingerprint, save_to_history
from zoo.bench.report import BenchReport
from zoo.errors import InputError
from zoo.plugin_manager import default_registry
from zoo.report.coverage import coverage_row
from zoo.report.figures import speedups
from zoo.report.history import is_this_machine, read_history
from zoo.report.outdir import MANIFEST, SiteFolder
from zoo.report.pareto import pareto_front
from zoo.report.rows import best_here, model_rows, primary_metric, weights_status
from zoo.report.site import select_specs


def _read(folder: Path | None, extra: list[Path] = ()):  # type: ignore[assignment]
    import os

    return read_history(folder, list(extra), cpu_model(), os.cpu_count() or 0)


# ------------------------------------------------------------------ Pareto front
def test_pareto_front_keeps_only_undominated_points_in_latency_order() -> None:
    pts = [(10.0, 70.0), (5.0, 60.0), (20.0, 75.0), (12.0, 65.0), (5.0, 55.0), (30.0, 75.0)]
    # (12, 65) loses to (10, 70); (5, 55) to (5, 60); (30, 75) to (20, 75)
    assert pareto_front(pts) == [1, 0, 2]
    assert pareto_front([(3.0, 1.0)]) == [0]
    assert pareto_front([]) == []
    assert pareto_front([(1.0, 2.0), (1.0, 2.0)]) == [0, 1]  # equal points both stay


def test_pareto_front_against_its_definition_on_random_points() -> None:
    rng = random.Random(0)
    for _ in range(50):
        pts = [(rng.randint(1, 20) * 1.0, rng.randint(1, 20) * 1.0) for _ in range(rng.randint(1, 12))]
        front = set(pareto_front(pts))

        def dominated(p: tuple[float, float], pts: list[tuple[float, float]] = pts) -> bool:
            return any(l2 <= p[0] and a2 >= p[1] and (l2, a2) != p for l2, a2 in pts)

        assert front == {i for i, p in enumerate(pts) if not dominated(p)}


# ------------------------------------------------------------------ history
def test_history_reads_reports_and_a_corrupt_file_is_one_warning(tmp_path: Path) -> None:
    write_report(tmp_path / "a.json", [row("resnet18", 9.0), row("resnet18", 30.0, bs=8)])
    (tmp_path / "b.json").write_text("{ not json")
    (tmp_path / "c.json").write_text(json.dumps({"schema": "other/1", "rows": []}))
    (tmp_path / "d.json").write_text(json.dumps([1, 2]))
    hist = _read(tmp_path)
    assert len(hist.runs) == 1 and hist.runs[0].models == ("resnet18",) and hist.runs[0].this_machine
    assert sorted(m.batch_size for m in hist.measurements) == [1, 8]
    assert len(hist.warnings) == 3
    assert all(w.count("\n") == 0 and "left out" in w for w in hist.warnings)
    assert any("b.json" in w and "not valid JSON" in w for w in hist.warnings)
    assert any("c.json" in w and "not a cvzoo bench report" in w for w in hist.warnings)


def test_history_reads_rows_defensively_missing_odd_and_new_keys(tmp_path: Path) -> None:
    doc = {"schema": "cvzoo.bench/1", "created": "2026-12-02", "env": {"device": "cpu", "cpu_model": "X", "cpu_count": 2},
           "rows": [{"model": "yolov3-tiny", "p50_ms": 12.5},  # nearly every key missing
                    {"model": "resnet18", "p50_ms": "fast", "batch_size": "1"},  # wrong types: unknown, not a crash
                    {"model": "resnet18", "p50_ms": 4.0, "backend": "openvino", "precision": "int8",
                     "guard": {"top1_agreement": 0.99}, "parity_max_abs": 0.01},  # columns of newer branches
                    {"p50_ms": 1.0}, "junk"]}  # no model: skipped
    path = tmp_path / "x.json"
    path.write_text(json.dumps(doc))
    hist = _read(None, [path])
    assert not hist.warnings and len(hist.measurements) == 3
    tiny, odd, int8 = hist.measurements
    assert tiny.ok and tiny.backend == "torch" and tiny.precision == "fp32" and tiny.batch_size == 1
    assert not tiny.this_machine and "X" in tiny.machine
    assert odd.p50_ms is None and not odd.ok
    assert int8.config() == "openvino/int8" and "guard" in int8.parity and "top1_agreement" in int8.parity
    assert "max abs 0.01" in int8.parity


def test_missing_bench_file_is_a_warning_and_latest_run_wins(tmp_path: Path) -> None:
    write_report(tmp_path / "old.json", [row("resnet18", 9.0)], created="2026-12-01T10:00:00+00:00")
    write_report(tmp_path / "new.json", [row("resnet18", 7.0)], created="2026-12-03T10:00:00+00:00")
    hist = _read(tmp_path, [tmp_path / "nowhere.json"])
    assert len(hist.warnings) == 1 and "nowhere.json" in hist.warnings[0] and "cannot read" in hist.warnings[0]
    assert [m.p50_ms for m in hist.latest()] == [7.0]
    assert len(hist.measurements) == 2


def test_this_machine_is_the_cpu_model_and_count() -> None:
    assert is_this_machine({"cpu_model": "A", "cpu_count": 2}, "A", 2)
    assert not is_this_machine({"cpu_model": "A", "cpu_count": 4}, "A", 2)
    assert not is_this_machine({}, "A", 2)


def test_bench_history_file_names_carry_the_machine_and_never_overwrite(tmp_path: Path) -> None:
    rep = BenchReport(rows=[row("resnet18", 5.0)], env=here_env())
    a, b = save_to_history(rep, tmp_path), save_to_history(rep, tmp_path)
    assert a != b and a.exists() and b.exists()
    assert machine_fingerprint(rep.env) in a.name
    assert machine_fingerprint(gpu_env()) != machine_fingerprint(rep.env)
    assert len(_read(tmp_path).measurements) == 2


def test_zoo_bench_keeps_its_run_in_zoo_home(zoo_home: Path) -> None:
    from click.testing import CliRunner

    from zoo.cli import cli

    res = CliRunner().invoke(cli, ["bench", "resnet18", "--size", "32", "--iters", "2", "--warmup", "0", "--no-e2e",
                                   "--no-flops", "-q"])
    assert res.exit_code == 0, res.output
    files = list((zoo_home / "bench").glob("*.json"))
    assert len(files) == 1
    hist = _read(zoo_home / "bench")
    assert [(m.model, m.batch_size, m.ok, m.this_machine) for m in hist.measurements] == [("resnet18", 1, True, True)]


# ------------------------------------------------------------------ rows
def test_model_rows_metric_weights_and_best_latency_here(tmp_path: Path) -> None:
    reg = default_registry()
    specs = [reg.get(n) for n in ("resnet18", "mobilenet-v2", "yolov3-spp", "densenet264", "yolov3-tiny")]
    write_report(tmp_path / "here.json", [row("resnet18", 9.0), row("resnet18", 4.0, backend="onnxruntime"),
                                         row("resnet18", 2.0, bs=8), row("resnet18", None, status="error")])
    write_report(tmp_path / "gpu.json", [row("resnet18", 0.5, device="cuda")], env=gpu_env())
    latest = _read(tmp_path).latest()

    def cached(spec, w) -> bool:
        return spec.name == "yolov3-tiny"

    rows = {r.name: r for r in model_rows(specs, latest, cached)}
    assert rows["resnet18"].metric.name == "top1" and rows["resnet18"].metric.value == pytest.approx(69.758)
    assert rows["mobilenet-v2"].metric.name == "top1"  # torchvision's acc1 is the same number
    assert rows["densenet264"].metric is None and rows["densenet264"].weights == "none"
    assert rows["yolov3-spp"].weights == "download" and rows["resnet18"].weights == "download"  # spp: the authors' URL
    assert rows["densenet264"].weights == "none"
    assert rows["yolov3-tiny"].weights == "cached" and rows["yolov3-tiny"].pinned == "sha256 in registry"
    best = rows["resnet18"].best  # this machine only (not the GPU's 0.5), ok rows at batch 1 only
    assert best is not None and best.p50_ms == 4.0 and best.config() == "onnxruntime/fp32"
    assert rows["mobilenet-v2"].best is None
    assert best_here("resnet18", [m for m in latest if not m.this_machine]) is None
    assert primary_metric(reg.get("yolov3-tiny")).name == "box_ap50"
    assert weights_status(reg.get("resnet18"), cached) == ("download", "downloadable (hub)")
    assert weights_status(reg.get("yolov3"), cached) == ("download", "downloadable (hub+url)")
    assert weights_status(reg.get("dcgan-64"), cached) == ("import", "bring the file")
    assert rows["yolov3-spp"].weights_hint == "zoo download yolov3-spp"


def test_speedups_are_over_torch_fp32_of_the_same_machine_and_batch(tmp_path: Path) -> None:
    write_report(tmp_path / "r.json", [row("resnet18", 10.0), row("resnet18", 5.0, backend="onnxruntime"),
                                      row("resnet18", 20.0, precision="bf16"), row("resnet18", 40.0, bs=8)])
    mine = _read(tmp_path).latest()
    assert speedups(mine) == [("onnxruntime/fp32", 2.0), ("torch/bf16", 0.5)]
    assert speedups([m for m in mine if m.backend != "torch"]) == []  # no baseline, no chart


def test_export_coverage_from_bench_rows_and_the_exports_cache(tmp_path: Path) -> None:
    write_report(tmp_path / "r.json", [row("resnet18", 5.0, backend="onnxruntime"),
                                      row("resnet18", None, backend="openvino", status="error", error="OpConversionFailure")])
    cells = {c.format: c for c in coverage_row("resnet18", _read(tmp_path).latest(), [("torchscript", "fp32")])}
    assert cells["onnx"].state == "yes" and cells["torchscript"].state == "yes"
    assert cells["openvino"].state == "no" and "OpConversionFailure" in cells["openvino"].text
    assert cells["pt2"].state == "untried" and "zoo export resnet18 --format pt2" in cells["pt2"].text


# ------------------------------------------------------------------ selection and the output folder
def test_selection_by_names_patterns_task_and_family() -> None:
    reg = default_registry()
    assert [s.name for s in select_specs(reg, ["yolov3-tiny", "resnet1*"], None, None)] == \
        ["yolov3-tiny", "resnet18", "resnet101", "resnet152"]
    assert {s.task for s in select_specs(reg, [], "keypoints", None)} == {"keypoints"}
    assert {s.family for s in select_specs(reg, [], None, "yolo")} == {"yolo"}
    with pytest.raises(InputError, match="no model matches"):
        select_specs(reg, ["nothing*"], None, None)
    with pytest.raises(InputError, match="not a detection model"):
        select_specs(reg, ["resnet18"], "detection", None)


def test_site_folder_refuses_foreign_files_and_rebuilds_its_own(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("mine")
    with pytest.raises(InputError, match="did not write"):
        SiteFolder(foreign)
    assert (foreign / "thesis.tex").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        SiteFolder(tmp_path / "file")

    site = tmp_path / "site"
    first = SiteFolder(site)
    first.write("index.html", "one")
    first.write("img/old.png", b"png")
    first.finish()
    (site / "notes.txt").write_text("the user's")  # added by hand after the build
    second = SiteFolder(site)
    second.write("index.html", "two")
    with pytest.raises(InputError, match="notes.txt exists and zoo report did not write it"):
        second.write("notes.txt", "ours")
    assert second.finish() == ["img/old.png"]  # our stale file goes, the user's stays
    assert (site / "index.html").read_text() == "two" and (site / "notes.txt").read_text() == "the user's"
    assert not (site / "img" / "old.png").exists()
    assert set(json.loads((site / MANIFEST).read_text())["files"]) == {"index.html", MANIFEST}


def test_a_manifest_naming_files_outside_the_folder_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    site = tmp_path / "site"
    site.mkdir()
    (site / MANIFEST).write_text(json.dumps({"files": ["../victim.txt", MANIFEST]}))
    with pytest.raises(InputError, match="is not one zoo report wrote"):
        SiteFolder(site)
    assert victim.read_text() == "keep"


def test_pins_describe_registry_sha_hub_sources_and_new_style_sources() -> None:
    from dataclasses import dataclass

    from zoo.report.pins import describe

    reg = default_registry()
    tiny = describe(reg.get("yolov3-tiny").default_weights(), True)
    assert tiny.sources[0].startswith("hub: ggml-org/") and tiny.pin.startswith("sha256 dccea06f")
    assert tiny.sources[1] == "url: https://pjreddie.com/media/files/yolov3-tiny.weights"
    spp = describe(reg.get("yolov3-spp").default_weights(), True)  # the authors' URL, no sha256 known
    assert spp.sources[0].startswith("url: https://") and "first download" in spp.pin
    from zoo.report.pins import pin_summary

    assert pin_summary(reg.get("biggan-deep-128")) == "sha256 in registry for some files"  # the .bin, not config.json
    dcgan = describe(reg.get("dcgan-64").default_weights(), True)
    assert dcgan.sources == () and "recorded on import" in dcgan.pin

    @dataclass(frozen=True)
    class Url:
        kind: str = "url"
        url: str = "https://example.org/w.pt"

    @dataclass(frozen=True)
    class NewStyle:  # a weights entry listing its sources (no repo fields)
        tag: str = "x"
        sources: tuple = (Url(),)
        sha256: str | None = None

    got = describe(NewStyle(), False)
    assert got.sources == ("url: https://example.org/w.pt",) and "first download" in got.pin


def test_history_reads_the_csv_zoo_bench_writes(tmp_path: Path) -> None:
    rep = BenchReport(rows=[row("resnet18", 9.0), row("resnet18", 30.0, bs=8)], env=here_env(), created="2026-12-04")
    rep.to_csv(tmp_path / "run.csv")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    (tmp_path / "bad.csv").write_text(rep.to_csv().replace(",1,", ",one,", 1))  # batch size "one"
    hist = _read(None, [tmp_path / "run.csv", tmp_path / "other.csv", tmp_path / "bad.csv"])
    assert sorted((m.batch_size, m.p50_ms) for m in hist.measurements) == [(1, 9.0), (8, 30.0)]
    assert hist.measurements[0].this_machine
    assert len(hist.warnings) == 2 and all("not a zoo bench CSV" in w for w in hist.warnings)
