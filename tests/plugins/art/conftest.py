"""Fixtures for the art plugin (stylize, dream): the shared photos, and one torch thread for its small inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# as tests/conftest.py: the real files live in ../shared/data unless ZOO_TEST_DATA says otherwise
SHARED_DATA = Path(os.environ.get("ZOO_TEST_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data"))
PHOTOS = ("chelsea.png", "coffee.png", "astronaut.png")


@pytest.fixture(scope="session")
def shared_images() -> Path:
    images = SHARED_DATA / "images"
    if not all((images / n).is_file() for n in PHOTOS):
        pytest.skip(f"shared photos not found in {images} (set ZOO_TEST_DATA)")
    return images


@pytest.fixture(autouse=True)
def one_thread():
    """Small inputs: one thread is faster, and immune to OpenMP workers spinning on a busy machine (measured with
    the faces family: 20 narrow-VGG steps 0.2 s with 1 thread, 11 s with 2 on a loaded 2-core box)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
