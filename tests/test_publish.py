"""`zoo publish`: the dry-run folder (card front matter, manifest, registry row) and the upload calls, with
huggingface_hub's API faked at the boundary (no network)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

import zoo
from zoo.errors import WeightsNotFoundError, ZooError
from zoo.publish import publish
from zoo.weights import save_safetensors


@pytest.fixture
def cached_resnet18(tmp_path: Path) -> Path:
    from zoo.cli import main

    path = tmp_path / "r18.safetensors"
    save_safetensors(zoo.build("resnet18").net.state_dict(), path)
    main(["import", "resnet18", str(path)])
    return path


def test_dry_run_writes_card_manifest_and_row(cached_resnet18: Path, tmp_path: Path) -> None:
    out = publish("resnet18", "me/resnet18", dry_run=True, out=tmp_path / "pub")
    card = (out.folder / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert front["library_name"] == "cvzoo" and front["pipeline_tag"] == "image-classification"
    assert "classification" in front["tags"] and front["license"]
    assert "## Published metrics" in card and 'zoo.load("resnet18")' in card
    sums = dict(reversed(line.split("  ")) for line in (out.folder / "SHA256SUMS").read_text().splitlines())
    for name, digest in sums.items():
        assert hashlib.sha256((out.folder / name).read_bytes()).hexdigest() == digest
    row = yaml.safe_load((out.folder / "registry-row.yaml").read_text())
    assert row["weights"][0]["sha256"] == out.sha256 == sums["model.safetensors"] and out.revision is None


def test_upload_calls_create_repo_and_upload_folder(cached_resnet18: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    calls: list[tuple[str, dict[str, Any]]] = []

    class Commit:
        oid = "0123456789abcdef0123456789abcdef01234567"

    def create_repo(self: Any, repo_id: str, **kw: Any) -> None:
        calls.append(("create_repo", {"repo_id": repo_id, **kw}))

    def upload_folder(self: Any, **kw: Any) -> Commit:
        calls.append(("upload_folder", {**kw, "files": sorted(p.name for p in Path(kw["folder_path"]).iterdir())}))
        return Commit()

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", create_repo)
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
    monkeypatch.setattr("zoo.hub._reachable", lambda url, timeout=1.0: True)
    monkeypatch.delenv("ZOO_OFFLINE")
    out = publish("resnet18", "me/resnet18", private=True, out=tmp_path / "pub", token="hf_fake")
    assert [c[0] for c in calls] == ["create_repo", "upload_folder"]
    assert calls[0][1]["repo_id"] == "me/resnet18" and calls[0][1]["private"] is True
    assert calls[1][1]["repo_id"] == "me/resnet18" and calls[1][1]["files"] == ["README.md", "SHA256SUMS",
                                                                                 "model.safetensors"]
    assert out.revision == Commit.oid
    assert yaml.safe_load((out.folder / "registry-row.yaml").read_text())["weights"][0]["revision"] == Commit.oid


def test_publish_refuses_without_weights_token_or_network(cached_resnet18: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(WeightsNotFoundError, match="zoo import resnet34 FILE"):
        publish("resnet34", "me/r34", dry_run=True)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "no-hf-home"))
    with pytest.raises(ZooError, match="set HF_TOKEN"):
        publish("resnet18", "me/resnet18", out=tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()  # no partial folder
    with pytest.raises(ZooError, match="cannot reach .* nothing was uploaded"):
        publish("resnet18", "me/resnet18", out=tmp_path / "offline", token="hf_fake")
