"""Benchmark report: schema, JSON and CSV round-trips, statistics, and the --compare regression gate."""

from __future__ import annotations

import dataclasses
import json
import math
import random

import numpy as np
import pytest

from zoo.bench.protocol import LatencyStats, percentile
from zoo.bench.report import SCHEMA, BenchReport, BenchRow, EnvInfo, compare
from zoo.errors import InputError


def _row(model: str = "m", bs: int = 1, p50: float | None = 10.0, status: str = "ok", **kw: object) -> BenchRow:
    return BenchRow(model=model, batch_size=bs, status=status, p50_ms=p50, mean_ms=p50, **kw)  # type: ignore[arg-type]


def _report(*rows: BenchRow, **env: object) -> BenchReport:
    return BenchReport(rows=list(rows), env=EnvInfo(**env))  # type: ignore[arg-type]


def _full_report() -> BenchReport:
    """A report with every kind of value: floats, None, bools, strings with commas and quotes."""
    rows = [
        BenchRow(model="resnet18", batch_size=8, input_size="224x224", mean_ms=12.3456789, std_ms=0.1, cv=0.0081,
                 min_ms=12.0, p50_ms=12.3, p90_ms=12.9, p99_ms=13.01, max_ms=13.1, throughput=648.0,
                 first_call_ms=80.5, params=11689512, macs=1.4e10, flops=2.8e10, gflops_per_s=2268.1,
                 peak_gflops_per_s=3000.0, pct_of_peak=75.6, rss_peak=900_000_000, rss_delta=12_345_678,
                 memory_method="peak RSS", channels_last=True, fused=True),
        BenchRow(model="resnet18", kind="end-to-end", batch_size=8, preprocess_ms=3.0, forward_ms=12.0,
                 postprocess_ms=0.2, mean_ms=15.2, p50_ms=15.2),
        BenchRow(model="yolov3", batch_size=64, status="oom", error='out of memory, "tried" 20 GiB', compiled=True,
                 compile_s=None, weights="yolov3.coco"),
    ]
    env = EnvInfo(device="cpu", device_name="AMD EPYC", cpu_model="AMD EPYC", threads=2, torch="2.14.1",
                  loadavg_1m=1.5, git_revision="abc", git_dirty=True, gpu_memory=None)
    return BenchReport(rows=rows, env=env, config={"batch_sizes": [8, 64]}, notes=["FLOPs = 2 x MACs"])


def test_json_round_trip(tmp_path) -> None:
    rep = _full_report()
    path = tmp_path / "r.json"
    rep.to_json(path)
    back = BenchReport.from_json(path)
    assert back == rep
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA
    assert set(data) == {"schema", "created", "env", "config", "notes", "rows"}
    assert {"torch", "device_name", "cpu_model", "threads", "dtype", "cvzoo", "git_revision"} <= set(data["env"])
    assert set(data["rows"][0]) == {f.name for f in dataclasses.fields(BenchRow)}


def test_csv_round_trip(tmp_path) -> None:
    rep = _full_report()
    path = tmp_path / "r.csv"
    rep.to_csv(path)
    back = BenchReport.from_csv(path)
    assert back.rows == rep.rows  # floats exact (repr), None, bools, quoted strings
    assert back.env == rep.env
    assert back.created == rep.created
    header = path.read_text().splitlines()[0].split(",")
    assert "p50_ms" in header and "env_torch" in header and "env_git_revision" in header


def test_not_a_report_is_an_input_error(tmp_path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"rows": []}')
    with pytest.raises(InputError, match="not a cvzoo benchmark report"):
        BenchReport.from_json(bad)
    bad.write_text("{nope")
    with pytest.raises(InputError, match="not valid JSON"):
        BenchReport.from_json(bad)


def test_newer_report_fields_are_ignored() -> None:
    data = _full_report().to_dict()
    data["rows"][0]["some_future_field"] = 1
    assert BenchReport.from_dict(data).rows[0].model == "resnet18"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_latency_stats_match_numpy(seed: int) -> None:
    rng = random.Random(seed)
    samples = [rng.uniform(0.001, 0.05) for _ in range(rng.randint(2, 60))]
    st = LatencyStats.from_seconds(samples)
    ms = np.array(samples) * 1e3
    for q, got in ((50, st.p50_ms), (90, st.p90_ms), (99, st.p99_ms)):
        assert math.isclose(got, float(np.percentile(ms, q)), rel_tol=1e-12)
    assert math.isclose(st.mean_ms, float(ms.mean()), rel_tol=1e-12)
    assert math.isclose(st.std_ms, float(ms.std(ddof=1)), rel_tol=1e-9)
    assert math.isclose(st.cv, st.std_ms / st.mean_ms)
    assert st.min_ms == ms.min() and st.max_ms == ms.max() and st.n == len(samples)
    assert percentile([5.0], 99) == 5.0


def test_compare_passes_within_threshold() -> None:
    base = _report(_row(bs=1, p50=10.0), _row(bs=8, p50=40.0))
    cur = _report(_row(bs=1, p50=10.9), _row(bs=8, p50=30.0))
    comp = compare(cur, base, max_regression=0.10)
    assert comp.passed, comp.summary()
    assert [r.verdict for r in comp.rows] == ["ok", "faster"]
    assert comp.rows[0].ratio == pytest.approx(1.09)


def test_compare_fails_past_threshold() -> None:
    base = _report(_row(bs=1, p50=10.0), _row(bs=8, p50=40.0))
    cur = _report(_row(bs=1, p50=11.5), _row(bs=8, p50=40.0))
    comp = compare(cur, base, max_regression=0.10)
    assert not comp.passed
    assert [r.verdict for r in comp.rows] == ["regression", "ok"]
    assert "1.150x" in comp.summary()
    assert compare(cur, base, max_regression=0.20).passed  # a looser gate lets the same numbers through


def test_compare_fails_when_a_row_stops_measuring() -> None:
    base = _report(_row(bs=32, p50=100.0))
    cur = _report(_row(bs=32, p50=None, status="oom"))
    comp = compare(cur, base)
    assert not comp.passed and comp.rows[0].verdict == "failed"


def test_compare_new_missing_and_nothing_in_common() -> None:
    base = _report(_row(bs=1), _row(bs=2))
    cur = _report(_row(bs=1), _row(bs=4))
    comp = compare(cur, base)
    assert comp.passed
    assert sorted(r.verdict for r in comp.rows) == ["missing", "new", "ok"]
    # a gate that compares nothing must not pass (e.g. baseline of other flags)
    other = _report(_row(bs=1, channels_last=True))
    assert not compare(other, base).passed
    # a different device name is reported, rows still compared
    moved = compare(_report(_row(bs=1), device_name="B"), _report(_row(bs=1), device_name="A"))
    assert moved.passed and any("device_name" in c for c in moved.env_changes)


def test_compare_rejects_bad_settings() -> None:
    rep = _report(_row())
    with pytest.raises(InputError):
        compare(rep, rep, stat="throughput")
    with pytest.raises(InputError):
        compare(rep, rep, max_regression=-0.1)
