"""The Hub path against a local fake Hub cache: download -> verify -> load, bad hashes, truncation,
offline fail-fast without any network attempt."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import socket
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import zoo
import zoo.api
from zoo import cache, hub
from zoo.errors import OfflineError, WeightsMismatchError, WeightsNotFoundError
from zoo.paths import weights_dir
from zoo.plugin_manager import default_registry

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def put_in_fake_hub(cache: Path, repo_id: str, filename: str, data: bytes, etag: str | None = None,
                    revision: str = "main", repo_type: str = "model") -> None:
    """Lay a file out exactly as huggingface_hub's cache does: refs/main -> snapshot -> blob named by etag."""
    commit = revision if len(revision) == 40 else COMMIT
    repo = cache / f"{repo_type}s--{repo_id.replace('/', '--')}"
    etag = etag or hashlib.sha256(data).hexdigest()
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    (repo / "blobs" / etag).write_bytes(data)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    snap = repo / "snapshots" / commit / filename
    snap.parent.mkdir(parents=True, exist_ok=True)
    snap.symlink_to(Path("../../blobs") / etag)


@pytest.fixture
def resnet18_file(tmp_path: Path) -> tuple[bytes, dict[str, torch.Tensor]]:
    """A resnet18 checkpoint in timm's tv_in1k layout (random weights), as bytes."""
    import torchvision

    state = torchvision.models.resnet18().state_dict()
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "model.safetensors"
    save_file(state, str(path))
    return path.read_bytes(), state


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Any socket connection attempt is recorded and refused."""
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def fetch(spec, w, **kw) -> Path:
    """zoo.sources.download with the expected state dict zoo.api builds (the weights layer cannot)."""
    from zoo.api import expected_state
    from zoo.sources import download

    return download(spec, w, expected=expected_state(spec), **kw)


def spec_and_weights(sha256: str | None):
    spec = default_registry().get("resnet18")
    w = dataclasses.replace(spec.default_weights(), sha256=sha256)
    return spec, w


def test_download_verify_load_from_fake_hub(resnet18_file, zoo_home: Path, no_network) -> None:
    data, state = resnet18_file
    spec, w = spec_and_weights(hashlib.sha256(data).hexdigest())
    put_in_fake_hub(zoo_home / "hf-hub", w.repo_id, w.filename, data, revision=w.revision)
    path = fetch(spec, w)
    assert path == weights_dir("resnet18", w.tag) / "model.safetensors"
    row = cache.verify(spec, w)
    assert (row.status, row.pinned_by) == ("ok", "registry")
    model = zoo.load("resnet18")
    assert model.weights_source == "resnet18.tv_in1k"
    assert torch.equal(model.net.conv1.weight, state["conv1.weight"])
    assert not no_network  # everything came from the local Hub cache


def test_hub_etag_pins_when_registry_has_no_sha(resnet18_file, zoo_home: Path, no_network) -> None:
    data, _ = resnet18_file
    spec, w = spec_and_weights(None)
    put_in_fake_hub(zoo_home / "hf-hub", w.repo_id, w.filename, data, revision=w.revision)
    fetch(spec, w)
    lock = cache.Lock.read(weights_dir("resnet18", w.tag))
    assert lock.pinned_by == "hub-etag" and lock.original_sha256 == hashlib.sha256(data).hexdigest()
    assert cache.verify(spec, w).pinned_by == "hub-etag"


def test_flipped_byte_is_refused_naming_file_and_both_hashes(resnet18_file, zoo_home: Path) -> None:
    data, _ = resnet18_file
    good = hashlib.sha256(data).hexdigest()
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xFF
    spec, w = spec_and_weights(good)
    put_in_fake_hub(zoo_home / "hf-hub", w.repo_id, w.filename, bytes(bad), etag=good, revision=w.revision)
    with pytest.raises(WeightsMismatchError) as err:
        fetch(spec, w)
    msg = str(err.value)
    assert "model.safetensors" in msg and good in msg and hashlib.sha256(bytes(bad)).hexdigest() in msg
    assert not (weights_dir("resnet18", w.tag)).exists()


def test_truncated_download_leaves_nothing_in_cache(resnet18_file, zoo_home: Path) -> None:
    data, _ = resnet18_file
    spec, w = spec_and_weights(None)
    truncated = data[: len(data) // 3]
    put_in_fake_hub(zoo_home / "hf-hub", w.repo_id, w.filename, truncated, revision=w.revision)  # its own etag: the hash passes
    with pytest.raises(WeightsMismatchError, match="not a readable safetensors file|does not fit"):
        fetch(spec, w)
    folder = weights_dir("resnet18", w.tag)
    assert not folder.exists() or not any(folder.iterdir())


def test_killed_write_leaves_no_partial_file(resnet18_file, zoo_home: Path, monkeypatch) -> None:
    data, _ = resnet18_file
    spec, w = spec_and_weights(None)
    put_in_fake_hub(zoo_home / "hf-hub", w.repo_id, w.filename, data, revision=w.revision)
    import safetensors.torch

    def dying_save(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise KeyboardInterrupt  # the process is killed mid-write

    monkeypatch.setattr(safetensors.torch, "save_file", dying_save)
    with pytest.raises(KeyboardInterrupt):
        fetch(spec, w)
    folder = weights_dir("resnet18", w.tag)
    assert not folder.exists() or not any(folder.iterdir())  # neither the temp file nor model.safetensors
    left = [p.name for p in folder.parent.iterdir() if p.suffix != ".lock"] if folder.parent.exists() else []
    assert left == []  # no staging folder either (the writers' lock file may stay)


def test_offline_empty_cache_fails_fast_without_network(no_network) -> None:
    spec, w = spec_and_weights(None)
    start = time.perf_counter()
    with pytest.raises(OfflineError) as err:
        zoo.load("resnet18")
    assert time.perf_counter() - start < 5  # generous; the real guarantee is the next line
    assert not no_network
    assert "resnet18.tv_in1k" in str(err.value) and "zoo import" in str(err.value)


def test_unreachable_hub_fails_fast(monkeypatch) -> None:
    monkeypatch.delenv("ZOO_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    spec, w = spec_and_weights(None)
    with pytest.raises(OfflineError, match="cannot reach"):
        fetch(spec, w)


def test_model_without_weights_says_so() -> None:
    with pytest.raises(WeightsNotFoundError, match="no pretrained weights"):
        zoo.load("densenet264")
    assert zoo.load("densenet264", pretrained=False).weights_source == "random init"


def test_modified_cache_file_fails_verify(resnet18_file, zoo_home: Path) -> None:
    data, _ = resnet18_file
    spec, w = spec_and_weights(None)
    put_in_fake_hub(zoo_home / "hf-hub", w.repo_id, w.filename, data, revision=w.revision)
    path = fetch(spec, w)
    with open(path, "r+b") as fh:
        fh.seek(-1, 2)
        fh.write(b"\x00" if fh.read(1) != b"\x00" else b"\x01")
    assert cache.verify(spec, w).status == "modified"


def test_weights_in_a_space_repo(resnet18_file, zoo_home: Path, no_network) -> None:
    data, _ = resnet18_file
    spec, w = spec_and_weights(hashlib.sha256(data).hexdigest())
    w = dataclasses.replace(w, repo_id="someone/demo-space", repo_type="space")
    put_in_fake_hub(zoo_home / "hf-hub", w.repo_id, w.filename, data, revision=w.revision, repo_type="space")
    assert fetch(spec, w).is_file()
    assert cache.verify(spec, w).pinned_by == "registry"


def _hub_error(status: int, cls_name: str = "HfHubHTTPError") -> Exception:
    """The error huggingface_hub raises for an HTTP status (built as it builds them)."""
    import httpx2
    from huggingface_hub import errors

    request = httpx2.Request("GET", "https://huggingface.co/api/models/x")
    return getattr(errors, cls_name)(f"{status} Client Error: for url {request.url}\nmore detail",
                                     response=httpx2.Response(status, request=request))


@pytest.fixture
def online_hub(monkeypatch: pytest.MonkeyPatch):
    """An online zoo whose Hub calls raise the error a test chooses (no network is touched)."""
    import huggingface_hub

    monkeypatch.delenv("ZOO_OFFLINE")
    monkeypatch.setattr(hub, "_reachable", lambda *a, **k: True)

    def failing(error: BaseException) -> None:
        def raise_it(*args, **kwargs):
            raise error

        monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", raise_it)

    return failing


@pytest.mark.parametrize("status,cls_name", [(401, "RepositoryNotFoundError"), (403, "GatedRepoError")])
def test_hub_refusing_access_names_the_repo_and_hf_token(online_hub, status: int, cls_name: str) -> None:
    from zoo.errors import WeightsAccessError

    online_hub(_hub_error(status, cls_name))
    spec, w = spec_and_weights(None)
    with pytest.raises(WeightsAccessError) as err:
        fetch(spec, w)
    text = str(err.value)
    assert w.repo_id in text and "HF_TOKEN" in text and f"HTTP {status}" in text and "\n" not in text


def test_missing_file_on_the_hub_is_weights_not_found(online_hub) -> None:
    online_hub(_hub_error(404, "RemoteEntryNotFoundError"))
    spec, w = spec_and_weights(None)
    with pytest.raises(WeightsNotFoundError, match="not found on the Hub") as err:
        fetch(spec, w)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_full_or_read_only_disk_during_download_is_one_line(online_hub, code: int) -> None:
    from zoo.errors import StorageError

    online_hub(OSError(code, os.strerror(code)))
    spec, w = spec_and_weights(None)
    with pytest.raises(StorageError) as err:
        fetch(spec, w)
    text = str(err.value)
    assert os.environ["HF_HUB_CACHE"] in text and "ZOO_HOME" in text and os.strerror(code) in text


def test_full_disk_while_storing_names_the_cache_folder(monkeypatch: pytest.MonkeyPatch, zoo_home: Path) -> None:
    import zoo.weights
    from zoo.errors import StorageError

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(zoo.weights, "save_safetensors", full)
    with pytest.raises(StorageError) as err:
        cache.store("resnet18", "t", {}, origin="import", original="x", original_format="safetensors",
                    original_sha256="0" * 64, pinned_by="local")
    assert str(weights_dir("resnet18", "t")) in str(err.value) and "ZOO_HOME" in str(err.value)


def test_a_missing_local_file_is_weights_not_found_in_import_and_load(tmp_path: Path) -> None:
    from zoo.convert import import_file

    spec, w = spec_and_weights(None)
    with pytest.raises(WeightsNotFoundError):
        import_file(spec, w, tmp_path / "nope.pth", expected=zoo.api.expected_state(spec))
    with pytest.raises(WeightsNotFoundError):
        zoo.load("resnet18", weights=tmp_path / "nope.pth")
