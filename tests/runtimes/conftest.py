"""Shared state for the runtimes tests: exports are the slow part (seconds each), so these tests share one
ZOO_HOME (and so one export cache) instead of the empty one every other test gets: resnet18 (seed 0) exported
by test_runtimes_export is a cache hit for test_runtimes_backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from clikit import SHARED_DATA

import zoo
from zoo.api import expected_state


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rt_home")


@pytest.fixture
def home(shared_home: Path, zoo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This module's ZOO_HOME (after conftest's per-test one, which it replaces)."""
    monkeypatch.setenv("ZOO_HOME", str(shared_home))
    return shared_home


@pytest.fixture(scope="session")
def resnet18() -> Any:
    torch.manual_seed(0)
    return zoo.build("resnet18")


@pytest.fixture(scope="session")
def yolo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A ZOO_HOME holding the real yolov3-tiny weights (imported from ../shared/data like the yolo tests)."""
    if not (SHARED_DATA / "yolov3-tiny.weights").exists():
        pytest.skip(f"real test data not found at {SHARED_DATA} (set ZOO_TEST_DATA)")
    root = tmp_path_factory.mktemp("rt_yolo_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOO_HOME", str(root))
        from zoo.convert import import_file

        spec = zoo.get_spec("yolov3-tiny")
        import_file(spec, spec.default_weights(), SHARED_DATA / "yolov3-tiny.weights", expected=expected_state(spec))
    yield root


@pytest.fixture
def in_yolo_home(yolo_home: Path, zoo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ZOO_HOME", str(yolo_home))
    return yolo_home
