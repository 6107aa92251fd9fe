"""Issue 8's proof: tasks the core has never heard of (tests/toy_tasks.py, a plugin registering a keypoint task
and a generation task) go through predict, bench and eval, in-process and through the CLI, without any
change to zoo/eval, zoo/bench or zoo/cli."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from evalkit import make_keypoint_coco
from PIL import Image

import zoo
from zoo.bench.report import END_TO_END
from zoo.categories import label_set
from zoo.errors import InputError, SpecError
from zoo.plugin_manager import build_registry
from zoo.registry import Registry

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def registry() -> Registry:
    reg, infos, _ = build_registry([md.EntryPoint("toy", "toy_tasks", "zoo")])
    assert [i.errors for i in infos] == [[]]
    return reg


def test_plugin_tasks_and_label_sets_are_registered(registry: Registry) -> None:
    assert {"toy-keypoints", "toy-generation", "classification", "detection"} <= {t.name for t in registry.tasks()}
    assert registry.task("toy-generation").inputs == "latents"
    points = label_set("toy-points", registry)
    assert points.keypoints[:2] == ("head", "p1") and points.skeleton[:2] == ((0, 1), (0, 2))
    with pytest.raises(SpecError, match="unknown task 'dance'.*toy-keypoints"):
        registry.task("dance")


def test_predict_checks_the_task_options(registry: Registry) -> None:
    pose = zoo.build("toy-pose", registry=registry)
    img = np.zeros((40, 60, 3), np.uint8)
    result = pose.predict(img, min_score=0.0)
    assert len(result.people) == 1 and len(result.people[0].keypoints) == 17
    assert all(0 <= x < 60 and 0 <= y < 40 for x, y, _ in result.people[0].keypoints)  # original pixels
    assert pose.predict(img, min_score=1.01).people == []
    with pytest.raises(InputError, match="does not take option 'min_scor'.*did you mean 'min_score'"):
        pose.predict(img, min_scor=0.5)
    gen = zoo.build("toy-gen", registry=registry)
    a, b = gen.predict({"n": 3, "seed": 7}), gen.predict({"n": 3, "seed": 7})
    assert len(a.images) == 3 and all(np.array_equal(x, y) for x, y in zip(a.images, b.images))


def test_bench_times_image_and_latent_models(registry: Registry) -> None:
    pose, gen = zoo.build("toy-pose", registry=registry), zoo.build("toy-gen", registry=registry)
    rep = zoo.benchmark([pose, gen], batch_sizes=[2], iters=2, warmup=1, flops=False, progress=False)
    rows = {(r.model, r.kind): r for r in rep.rows}
    assert all(r.ok for r in rows.values()), [(k, r.error) for k, r in rows.items()]
    assert rows[("toy-gen", END_TO_END)].input_size == "z=8" and rows[("toy-pose", END_TO_END)].input_size == "32x32"
    assert rows[("toy-gen", END_TO_END)].postprocess_ms is not None


def test_eval_scores_a_plugin_task_with_its_scorer(tmp_path: Path, registry: Registry) -> None:
    make_keypoint_coco(tmp_path / "kp", n=2)
    report = zoo.evaluate("toy-pose", coco=tmp_path / "kp", registry=registry, pretrained=False, progress=False)
    assert report.task == "toy-keypoints" and list(report.metrics) == ["keypoints"]  # no person boxes given
    assert len(report.metrics["keypoints"]) == 10 and report.num_predictions == 2
    with pytest.raises(InputError, match="toy-gen is a toy-generation model: zoo eval has no scorer"):
        zoo.evaluate("toy-gen", coco=tmp_path / "kp", registry=registry, pretrained=False, progress=False)


def _site(tmp_path: Path) -> dict[str, str]:
    """The toy plugin installed as a distribution with a `zoo` entry point, for CLI runs."""
    info = tmp_path / "site" / "zoo_toy-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-toy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[zoo]\ntoy = toy_tasks\n")
    path = os.pathsep.join([str(tmp_path / "site"), str(TESTS)])
    return {**os.environ, "PYTHONPATH": path}


def test_cli_predict_bench_eval_on_plugin_tasks(tmp_path: Path) -> None:
    env = _site(tmp_path)
    img = tmp_path / "x.png"
    Image.fromarray(np.full((24, 36, 3), 90, np.uint8)).save(img)
    make_keypoint_coco(tmp_path / "kp", n=1)
    script = textwrap.dedent(f"""
        import json, sys
        from zoo.cli import main
        for args in (["predict", "toy-pose", {str(img)!r}, "--min-score", "0", "--random-init", "--json"],
                     ["predict", "toy-pose", {str(img)!r}, "--conf", "0.5", "--random-init"],
                     ["predict", "toy-gen", {str(img)!r}],
                     ["bench", "toy-gen", "toy-pose", "--iters", "1", "--warmup", "0", "--batch-size", "2", "-q",
                      "--json", {str(tmp_path / 'b.json')!r}],
                     ["eval", "toy-pose", "--coco", {str(tmp_path / 'kp')!r}, "--random-init", "--json", "--no-progress"]):
            try:
                main(args)
                code = 0
            except SystemExit as e:
                code = e.code or 0
            print("RC", code, flush=True)
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    chunks, codes, current = [], [], []
    for line in res.stdout.splitlines():  # each command's stdout, then its "RC n" line
        if line.startswith("RC "):
            codes.append(int(line.split()[1]))
            chunks.append("\n".join(current))
            current = []
        else:
            current.append(line)
    assert codes == [0, 2, 2, 0, 0], res.stdout + res.stderr
    predicted = json.loads(chunks[0])
    assert len(predicted["results"][0]["people"][0]["keypoints"]) == 17
    assert "--conf: not an option of toy-keypoints models (toy-pose takes: --min-score)" in res.stderr
    assert "toy-gen is a toy-generation model: it takes latents, not images" in res.stderr
    bench = json.loads((tmp_path / "b.json").read_text())
    assert {(r["model"], r["kind"], r["status"]) for r in bench["rows"]} >= {("toy-gen", END_TO_END, "ok"),
                                                                          ("toy-pose", END_TO_END, "ok")}
    evaluated = json.loads(chunks[4])
    assert evaluated["task"] == "toy-keypoints" and "keypoints" in evaluated["metrics"]
