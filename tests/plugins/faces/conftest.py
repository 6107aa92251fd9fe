"""Fixtures for the faces family: facenet-pytorch as the reference (installed by the Makefile with
--no-deps, never a project dependency) and its real MTCNN weights from the installed wheel."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[3]
IMAGES = Path(os.environ.get("ZOO_TEST_DATA", ROOT.parent / "shared" / "data")) / "images"  # as tests/conftest.py
FACES = ("grace_hopper.jpg", "astronaut.png")
NO_FACES = ("chelsea.png", "coffee.png")


@functools.cache
def facenet_dir() -> Path | None:
    try:
        import facenet_pytorch
    except ImportError:
        return None
    return Path(facenet_pytorch.__file__).parent


@pytest.fixture(scope="session")
def facenet() -> object:
    """The facenet_pytorch module, or a skip naming how to install it."""
    if facenet_dir() is None:
        pytest.skip("facenet-pytorch is not installed (make install adds it: pip install --no-deps facenet-pytorch==2.6.0)")
    import facenet_pytorch

    return facenet_pytorch


@pytest.fixture(scope="session")
def mtcnn_weights_dir(facenet: object) -> Path:
    return facenet_dir() / "data"  # type: ignore[operator]


@pytest.fixture(scope="session")
def shared_images() -> Path:
    if not all((IMAGES / n).is_file() for n in FACES + NO_FACES):
        pytest.skip(f"shared photos not found in {IMAGES}")
    return IMAGES


@pytest.fixture(scope="session")
def mtcnn_model(mtcnn_weights_dir: Path) -> object:
    """zoo's mtcnn with facenet-pytorch's weights, through the family's converter."""
    import zoo
    from zoo_faces.convert import read_mtcnn_folder

    model = zoo.build("mtcnn")
    model.net.load_state_dict(read_mtcnn_folder(mtcnn_weights_dir, model.spec))
    return model.eval()


@pytest.fixture(scope="session")
def reference_mtcnn(facenet: object) -> object:
    torch.manual_seed(0)
    return facenet.MTCNN(keep_all=True)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def one_thread():
    """The family's tests use small inputs: one thread is faster, and immune to OpenMP workers spinning on a
    busy machine (measured here: 20 narrow-VGG steps 0.2 s with 1 thread, 11 s with 2 on a loaded 2-core box)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
