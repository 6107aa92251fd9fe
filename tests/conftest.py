"""Shared fixtures: an isolated zoo cache per test, and the real files in ../shared/data."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from clikit import SHARED_DATA

_rmtree = shutil.rmtree  # taken now: a test may still have shutil.rmtree monkeypatched when zoo_home tears down


@pytest.fixture(scope="session", autouse=True)
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A ZOO_HOME for what runs before the per-test one: module- and session-scoped fixtures are set up before
    any function-scoped fixture, so without this they would read and write the user's real cache."""
    home = tmp_path_factory.mktemp("session_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOO_HOME", str(home))
        mp.setenv("HF_HUB_CACHE", str(home / "hf-hub"))
        mp.setenv("ZOO_OFFLINE", "1")
        yield home


@pytest.fixture(autouse=True)
def zoo_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets an empty ZOO_HOME and an empty Hub cache, and is offline by default. The whole home
    (weights, exported artefacts: hundreds of MB for a VGG) is removed after the test: nothing reuses it."""
    home = tmp_path_factory.mktemp("zoo_home")
    monkeypatch.setenv("ZOO_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hf-hub"))
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    yield home
    _rmtree(home, ignore_errors=True)


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "yolov3-tiny.weights").exists():
        pytest.skip(f"real test data not found at {SHARED_DATA} (set ZOO_TEST_DATA)")
    return SHARED_DATA


@pytest.fixture
def images(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "images").iterdir())


@pytest.fixture
def one_thread():
    """torch at one thread for the test (training and style loops on 2 shared cores), restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
