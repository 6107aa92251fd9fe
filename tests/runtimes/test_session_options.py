"""Runtime sessions honour --threads and the thread waiting policy (zoo.threads) in both runtimes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from zoo.runtimes.runners import open_runner


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "tiny.onnx"
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).eval()
    torch.onnx.export(net, (torch.rand(1, 3, 8, 8),), str(path), input_names=["x"], dynamo=False)
    return path


@pytest.mark.parametrize("policy, spin", [("PASSIVE", "0"), ("ACTIVE", "1")])
def test_onnxruntime_threads_and_spinning(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, policy: str,
                                          spin: str) -> None:
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("OMP_WAIT_POLICY", policy)
    runner = open_runner(tiny_onnx, "onnx", threads=1)
    opts = runner.session.get_session_options()
    assert opts.intra_op_num_threads == 1
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == spin
    assert runner([torch.rand(1, 3, 8, 8)])[0].shape == (1, 4, 6, 6)


@pytest.mark.parametrize("policy, pinning", [("PASSIVE", False), ("ACTIVE", True)])
def test_openvino_threads_and_pinning(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, policy: str,
                                      pinning: bool, zoo_home: Path) -> None:
    pytest.importorskip("openvino")
    monkeypatch.setenv("OMP_WAIT_POLICY", policy)
    runner = open_runner(tiny_onnx, "openvino", threads=1)
    assert int(runner.session.get_property("INFERENCE_NUM_THREADS")) == 1
    assert bool(runner.session.get_property("ENABLE_CPU_PINNING")) is pinning
    assert runner([torch.rand(1, 3, 8, 8)])[0].shape == (1, 4, 6, 6)
