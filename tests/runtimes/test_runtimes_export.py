"""`zoo.runtimes.exporter`: every format of resnet18 (64 px) matches PyTorch and describes itself; the
ZOO_HOME/exports cache hits, re-exports on changed weights or options, and replaces a corrupt artefact."""

from __future__ import annotations

import copy
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import zoo
from zoo.errors import ExportError, InputError, RuntimeMissingError
from zoo.model import ZooModel
from zoo.runtimes import FORMATS, export, read_metadata
from zoo.runtimes.exporter import check_parity, weights_sha256
from zoo.runtimes.runners import open_runner

SIZE = (64, 64)


def test_package_export_is_the_function_whatever_the_import_order() -> None:
    """The package's `export` (a function) and its submodule had one name, so importing the submodule first
    rebound `zoo.runtimes.export` to the module (a test module collected earlier made the calls here fail with
    "'module' object is not callable"); the submodule is `zoo.runtimes.exporter`."""
    import subprocess

    code = ("import zoo.runtimes.exporter, zoo.runtimes.backend, zoo.runtimes as rt; from zoo.runtimes import export; "
            "assert callable(export) and rt.export is export is zoo.runtimes.exporter.export, export")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_matches_pytorch_and_describes_itself(fmt: str, resnet18: Any, home: Path) -> None:
    res = export(resnet18, fmt, input_size=SIZE, dynamic_batch=True)  # what with_backend asks for, too
    assert res.path.is_file() and res.path.is_relative_to(home / "exports" / "resnet18") and res.format == fmt
    assert set(res.parity) == {"random", "image"}  # a random input and the bundled photo through preprocess
    assert max(res.parity.values()) < 1e-4
    meta = read_metadata(res.path)  # what the file itself says, read back with the format's own reader
    assert meta == res.metadata
    assert meta["name"] == "resnet18" and meta["weights"] == "random init" and meta["format"] == fmt
    assert meta["weights_sha256"] == weights_sha256(resnet18)
    assert meta["inputs"] == [{"name": "input_0", "shape": [None, 3, 64, 64], "dtype": "float32"}]
    assert meta["batch"] == "dynamic"
    assert meta["categories"] == "imagenet1k" and len(meta["labels"]) == 1000 and meta["labels"][0] == "tench"
    assert meta["input_spec"]["mean"] == [0.485, 0.456, 0.406] and meta["input_spec"]["resize"] == "resize-crop"
    # the artefact computes what PyTorch computes on an input of its own, not just on the check's inputs
    x = torch.rand(3, 3, *SIZE)  # and at another batch size than the export's example (2)
    with torch.no_grad():
        ref = resnet18(x)
    got = open_runner(res.path, fmt).run([x])
    assert len(got) == 1 and got[0].shape == ref.shape and torch.allclose(got[0], ref, atol=1e-4)


def test_parity_catches_an_artefact_of_other_weights(resnet18: Any, home: Path) -> None:
    res = export(resnet18, "onnx", input_size=SIZE, dynamic_batch=True)  # cached by the test above
    other = copy.deepcopy(resnet18)
    with torch.no_grad():
        other.net.fc.bias += 0.5
    from torch.utils import _pytree as pytree

    leaves, spec = pytree.tree_flatten(tuple(other.example_inputs(1, SIZE)))
    with pytest.raises(ExportError, match=r"differs from PyTorch by 0\.5.* on the random input"):
        check_parity(other, res.path, "onnx", "fp32", leaves, spec)


def test_cache_hits_and_re_exports(resnet18: Any, home: Path) -> None:
    first = export(resnet18, "pt2", input_size=SIZE, dynamic_batch=True)
    again = export(resnet18, "pt2", input_size=SIZE, dynamic_batch=True)
    assert again.cached and again.path == first.path and again.sha256 == first.sha256
    assert again.parity == first.parity and again.metadata == first.metadata
    # another option: another entry (check=False from here: parity is the test above's subject)
    batched = export(resnet18, "pt2", input_size=SIZE, batch=2, check=False)
    assert not batched.cached and batched.path != first.path and batched.metadata["batch"] == 2
    # other weights (what a changed weights file loads): another entry, recording the new tensors' sha256
    changed = copy.deepcopy(resnet18)
    with torch.no_grad():
        changed.net.conv1.weight[0, 0, 0, 0] += 1.0
    other = export(changed, "pt2", input_size=SIZE, dynamic_batch=True, check=False)
    assert not other.cached and other.path != first.path
    assert other.metadata["weights_sha256"] == weights_sha256(changed) != first.metadata["weights_sha256"]
    # a corrupt artefact is detected by its recorded sha256 and exported again
    data = bytearray(first.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    first.path.write_bytes(bytes(data))
    fixed = export(resnet18, "pt2", input_size=SIZE, dynamic_batch=True, check=False)
    assert not fixed.cached and fixed.path == first.path
    assert read_metadata(fixed.path)["weights_sha256"] == weights_sha256(resnet18)
    hit = export(resnet18, "pt2", input_size=SIZE, dynamic_batch=True)  # a --no-check entry is checked once on its next use
    assert hit.cached and max(hit.parity.values()) < 1e-4


def test_out_writes_the_file_there(resnet18: Any, home: Path, tmp_path: Path) -> None:
    res = export(resnet18, "openvino", tmp_path / "r18.xml", input_size=SIZE, check=False)
    assert res.path == tmp_path / "r18.xml" and (tmp_path / "r18.bin").is_file() and res.parity == {}
    assert read_metadata(res.path)["name"] == "resnet18"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


class _Svd(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.linalg.svdvals(self.conv(x).flatten(2))


def test_a_network_the_format_cannot_take_names_the_op(home: Path) -> None:
    spec = dataclasses.replace(zoo.get_spec("resnet18"), name="svd-net")
    model = ZooModel(spec, _Svd()).eval()
    with pytest.raises(ExportError, match=r"^svd-net: the network cannot be exported to ONNX: aten\._linalg_svd "
                                          r"is not supported") as e:
        export(model, "onnx", input_size=16)
    assert "\n" not in str(e.value)


def test_bad_options(resnet18: Any, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="unknown export format 'onx'.*did you mean 'onnx'"):
        export(resnet18, "onx")
    with pytest.raises(InputError, match="onnx runs fp32 and int8, not bf16"):
        export(resnet18, "onnx", precision="bf16")
    with pytest.raises(InputError, match="^batch must be at least 1"):  # the library names its argument
        export(resnet18, "onnx", batch=0)
    with pytest.raises(InputError, match=r"yolov3-tiny cannot take a 100x100 input \(torch: "):
        export(zoo.build("yolov3-tiny"), "onnx", input_size=100)  # the API: no CLI check of the size before
    monkeypatch.setattr("zoo.runtimes.runners.cpu_has_bf16", lambda: False)
    with pytest.raises(InputError, match=r"this CPU has no native bf16 \(AVX512-BF16 or AMX\)"):
        export(resnet18, "openvino", precision="bf16")
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the runtimes extra were not installed
    with pytest.raises(RuntimeMissingError, match=r"onnx is not installed .*pip install 'cvzoo\[runtimes\]'"):
        export(resnet18, "onnx", input_size=SIZE, batch=3)


def test_zoo_export_cli(resnet18: Any, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from clikit import zoo_in_process as run_cli
    from safetensors.torch import save_file

    weights = tmp_path / "r18.safetensors"
    save_file({k: v.contiguous() for k, v in resnet18.net.state_dict().items()}, str(weights))
    args = ["export", "resnet18", "--format", "pt2", "--weights", str(weights), "--size", "64"]
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["format"] == "pt2" and not doc["cached"] and set(doc["parity"]) == {"random", "image"}
    assert doc["metadata"]["weights"] == str(weights) and doc["metadata"]["weights_sha256"] == weights_sha256(resnet18)
    code, out, err = run_cli(capsys, *args)  # the human view of the same, now from the cache
    assert code == 0, err
    assert f"{doc['path']}  (pt2, " in out and "cached, instant" in out and f"sha256: {doc['sha256']}" in out
    assert "  labels: 1000 (tench, goldfish, " in out and "  inputs: input_0 1x3x64x64 float32" in out


def test_install_keeps_an_intact_entry_and_replaces_a_corrupt_one(tmp_path: Path) -> None:
    import json

    from zoo.runtimes.exporter import MANIFEST, _install, _record

    def entry(folder: Path, content: bytes) -> Path:
        folder.mkdir()
        (folder / "model.pt2").write_bytes(content)
        (folder / MANIFEST).write_text(json.dumps({"files": _record(folder / "model.pt2", "pt2")}))
        return folder

    final = entry(tmp_path / "entry", b"theirs")  # another process (a torchrun rank) finished first
    staging = entry(tmp_path / ".tmp-export-1", b"mine")
    assert _install(staging, final) == final and (final / "model.pt2").read_bytes() == b"theirs"
    (final / "model.pt2").write_bytes(b"rot!!!")  # same size, new content: the recorded sha256 disagrees
    os.utime(final / "model.pt2", ns=(10**9, 10**9))  # (a write within one clock tick keeps the mtime)
    assert _install(staging, final) == final and (final / "model.pt2").read_bytes() == b"mine"
    assert not staging.exists()


def test_random_init_exports_do_not_pile_up(zoo_home: Path) -> None:
    """Random weights differ in every process, so their exports are never hit again: a new random-init export
    removes the model's older random-init entries of the same format and precision (not recent ones another
    process may be using, not entries of real weights)."""
    import os
    import time

    from zoo.runtimes.exporter import RANDOM_KEEP_S

    def alexnet(seed: int, label: str = "random init") -> Any:
        torch.manual_seed(seed)
        model = zoo.build("alexnet")
        model.weights_source = label
        return model

    # the pruning is the cache's, the same for every format: TorchScript exports in a fraction of ONNX's time
    real = export(alexnet(0, "alexnet.safetensors"), "torchscript", input_size=(64, 64), check=False)
    first = export(alexnet(1), "torchscript", input_size=(64, 64), check=False)
    second = export(alexnet(2), "torchscript", input_size=(64, 64), check=False)
    assert first.path.exists() and second.path.exists()  # the first is recent: kept
    old = time.time() - RANDOM_KEEP_S - 5
    for entry in (real, first):
        os.utime(entry.path.parent, (old, old))
    third = export(alexnet(3), "torchscript", input_size=(64, 64), check=False)
    assert not first.path.parent.exists()  # old and random: removed
    assert real.path.exists() and second.path.exists() and third.path.exists()
    assert len(list(first.path.parent.parent.iterdir())) == 3


def test_cache_ls_and_rm_see_exports(zoo_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`zoo cache ls --exports` lists exported artefacts (plain `ls` counts them), `zoo cache rm --exports NAME`
    removes one model's, a typo is one line with a did-you-mean, and listing them never imports torch."""
    import json
    import subprocess
    import sys

    from clikit import zoo_in_process as run_cli

    torch.manual_seed(0)
    res = export(zoo.build("alexnet"), "onnx", input_size=(64, 64), check=False)
    code, out, _ = run_cli(capsys, "cache", "ls", "--exports", "--json")
    listed = json.loads(out)
    assert code == 0 and [(e["model"], e["format"], e["precision"], e["batch"]) for e in listed] == [
        ("alexnet", "onnx", "fp32", "1")]
    assert listed[0]["path"] == str(res.path.parent) and listed[0]["size"] >= res.path.stat().st_size
    code, out, _ = run_cli(capsys, "cache", "ls")
    assert code == 0 and "1 exported artefact" in out
    code, _, err = run_cli(capsys, "cache", "rm", "--exports", "alexnt")
    assert code == 2 and "did you mean 'alexnet'" in err and res.path.exists()
    code, out, _ = run_cli(capsys, "cache", "rm", "--exports", "alexnet")
    assert code == 0 and "removed" in out and not res.path.exists()
    code, out, _ = run_cli(capsys, "cache", "rm", "--exports", "alexnet")
    assert code == 0 and "nothing exported" in out
    probe = "import sys, zoo.runtimes.cache as c; c.export_entries(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"
