"""Issue 25: `zoo generate` writes in batches with memory independent of --n, replays only its own model's
inputs, and generators run their whole predict under a runtime backend."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from clikit import zoo_in_process

import zoo
from zoo.tasks.generation import GenerationRequest

GEN = ["generate", "dcgan-64", "--random-init"]


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS reset needs Linux's /proc/self/clear_refs")
def test_generate_5000_images_under_a_memory_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The network is a cheap stand-in (an image from each latent's first values) so that 5000 images take
    seconds: what is measured is the command's own memory (batches, grids, inputs JSON). Unbatched, 5000 float
    images alone are 245 MB; batched, the peak stays one grid's worth whatever --n is."""
    from zoo_gan.dcgan import DCGAN

    def forward(self: Any, latents: torch.Tensor, *rest: Any) -> torch.Tensor:
        return torch.tanh(latents[:, :3, None, None]).expand(-1, 3, 64, 64).contiguous()

    monkeypatch.setattr(DCGAN, "forward", forward)
    code, _, err = zoo_in_process(capsys, *GEN, "--n", "8", "--out", str(tmp_path / "warm"))  # imports, model
    assert code == 0, err
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS (VmHWM) to the current RSS
    before = _rss_kib("VmRSS")
    code, _, err = zoo_in_process(capsys, *GEN, "--n", "5000", "--out", str(tmp_path / "many"))
    peak_mib = (_rss_kib("VmHWM") - before) / 1024
    assert code == 0, err
    assert peak_mib < 100, f"zoo generate --n 5000 grew {peak_mib:.0f} MiB"
    grids = sorted((tmp_path / "many").glob("*.png"))
    assert len(grids) == math.ceil(5000 / 64) and "wrote 79 grids" in err
    last = json.loads(grids[-1].with_suffix(".json").read_text())
    assert last["n"] == 5000 - 78 * 64 and len(last["latents"]) == last["n"]


def test_batches_are_the_images_of_one_call() -> None:
    model = zoo.build("dcgan-64")
    for req in (GenerationRequest(n=10, seed=3), GenerationRequest(n=7, seed=1, truncation=0.5)):
        whole = model.predict(req)
        parts = list(model.predict_batches(req, 4))
        assert [len(p) for p in parts] == [4, 4, 2] if req.n == 10 else [4, 3]
        assert all(np.array_equal(a, b) for a, b in zip(whole.images, [im for p in parts for im in p.images]))
        assert np.array_equal(whole.latents, np.concatenate([p.latents for p in parts]))


def test_generate_inputs_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gen"
    code, _, err = zoo_in_process(capsys, *GEN, "--n", "2", "--out", str(out))
    assert code == 0, err
    saved = out / "dcgan-64-seed0-n2.json"
    code, _, err = zoo_in_process(capsys, *GEN, "--inputs", str(saved), "--out", str(out))
    assert code == 0, err
    saved = out / "dcgan-64-seed0-n2-again.json"
    assert saved.is_file()
    # a replay of a replay keeps its name, so it would replace the file it replays: only with --force
    code, _, err = zoo_in_process(capsys, *GEN, "--inputs", str(saved), "--out", str(out))
    assert code == 2 and "dcgan-64-seed0-n2-again.png: exists" in err and "--force" in err
    code, _, err = zoo_in_process(capsys, *GEN, "--inputs", str(saved), "--out", str(out), "--force")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["dcgan-64-seed0-n2-again.json", "dcgan-64-seed0-n2-again.png",
                                                     "dcgan-64-seed0-n2.json", "dcgan-64-seed0-n2.png"]
    code, _, err = zoo_in_process(capsys, *GEN, "--inputs", str(saved), "--n", "5", "--seed", "1", "--out", str(out))
    assert code == 2 and "drop --n, --seed" in err
    doc = json.loads(saved.read_text())
    bad = tmp_path / "bad.json"
    for content, why in (([1, 2], "no latents object"),
                         ({**doc, "model": "biggan-deep-128"}, "written for biggan-deep-128, not dcgan-64"),
                         ({**doc, "latents": [[float("nan")] * 100]}, "NaN or infinite"),
                         ({**doc, "latents": "abc"}, "not what zoo generate writes")):
        bad.write_text(json.dumps(content))
        code, _, err = zoo_in_process(capsys, *GEN, "--inputs", str(bad), "--out", str(tmp_path / "x"))
        assert code == 2 and why in err and len(err.strip().splitlines()) == 1, err


def test_generator_predicts_under_a_runtime_backend() -> None:
    pytest.importorskip("onnxruntime")
    from zoo.runtimes import with_backend

    model = zoo.build("dcgan-64")
    fast = with_backend(model, "onnxruntime")
    for req in (fast.example_request(2), GenerationRequest(n=3, seed=1, truncation=0.5)):
        got, want = fast.predict(req), model.predict(req)
        assert len(got) == len(want)
        assert max(int(np.abs(a.astype(int) - b.astype(int)).max()) for a, b in zip(got.images, want.images)) <= 1
    batch = fast.preprocess(fast.example_request(2))[0]
    assert fast(batch).shape == (2, 3, 64, 64)  # the harness's end-to-end row passes the batch tuple
