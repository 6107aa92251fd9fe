"""Several verified sources per weights entry (issue 21), against a local HTTP server on 127.0.0.1 and the
local fake Hub: a failing source hands over to the next, a wrong hash never reaches the cache, a killed
download resumes, torchvision's file-name prefix is checked, first-use hashes are recorded then enforced,
`zoo download --all/--family` summarises, offline says what it would fetch."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from clikit import zoo_in_process
from safetensors.torch import save_file

from zoo import cache
from zoo.api import expected_state
from zoo.errors import SpecError, WeightsMismatchError
from zoo.paths import weights_dir
from zoo.plugin_manager import default_registry
from zoo.sources import FIRST_USE, download, downloads_dir
from zoo.spec import HubSource, TorchvisionSource, UrlSource, spec_from_dict

sys.path.insert(0, str(Path(__file__).parent / "trust"))
from fakehub import FakeHub, FakeWeb  # noqa: E402

FORK = multiprocessing.get_context("fork")


@pytest.fixture(scope="module")
def r18(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A resnet18 checkpoint in the tv_in1k entry's layout (timm safetensors, random weights), as bytes."""
    import torchvision

    state = {k: v for k, v in torchvision.models.resnet18().state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path_factory.mktemp("r18") / "r18.safetensors"
    save_file(state, str(path))
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Online, with torch.hub's cache in a fresh folder (no checkpoint a user has is found by accident)."""
    monkeypatch.delenv("ZOO_OFFLINE")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


def entry(*sources, sha256: str | None, repo: bool = False):
    """resnet18 with the given sources (its own Hub repo first only when `repo`)."""
    spec = default_registry().get("resnet18")
    w = spec.default_weights()
    w = dataclasses.replace(w, sha256=sha256, sources=tuple(sources), **({} if repo else {"repo_id": None}))
    return spec, w


def fetch(spec, w, **kw) -> Path:
    return download(spec, w, expected=expected_state(spec), **kw)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_first_source_404_then_the_second_is_used(r18: bytes, online, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeHub({}) as hub, FakeWeb({"w/r18.safetensors": r18}) as web:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        spec, w = entry(UrlSource(f"{web.url}/w/r18.safetensors"), sha256=sha(r18), repo=True)
        assert [s.kind for s in w.all_sources] == ["hub", "url"]
        path = fetch(spec, w)
    lock = cache.Lock.read(path.parent)
    assert (lock.origin, lock.original, lock.pinned_by) == ("url", f"{web.url}/w/r18.safetensors", "registry")
    assert cache.verify(spec, w).status == "ok"
    assert not downloads_dir(spec, w).exists()  # the URL original is removed once converted


def test_wrong_hash_is_refused_cache_untouched_and_the_next_source_tried(r18: bytes, online) -> None:
    bad = bytearray(r18)
    bad[len(bad) // 2] ^= 0xFF
    with FakeWeb({"bad.safetensors": bytes(bad), "good.safetensors": r18}) as web:
        spec, w = entry(UrlSource(f"{web.url}/bad.safetensors"), sha256=sha(r18))
        with pytest.raises(WeightsMismatchError) as err:  # the wrong copy alone: refused, nothing cached
            fetch(spec, w)
        assert sha(bytes(bad)) in str(err.value) and "\n" not in str(err.value)
        assert not weights_dir("resnet18", w.tag).exists()
        assert not any(downloads_dir(spec, w).glob("*")) if downloads_dir(spec, w).exists() else True
        spec, w = entry(UrlSource(f"{web.url}/bad.safetensors"), UrlSource(f"{web.url}/good.safetensors"),
                        sha256=sha(r18))
        path = fetch(spec, w)
    assert cache.Lock.read(path.parent).original.endswith("/good.safetensors")


def test_every_source_failing_lists_each_reason(r18: bytes, online) -> None:
    with FakeWeb({"short.safetensors": r18[:1000]}) as web:
        spec, w = entry(UrlSource(f"{web.url}/missing.safetensors"), UrlSource(f"{web.url}/short.safetensors"),
                        sha256=sha(r18))
        w = dataclasses.replace(w, size=len(r18))
        with pytest.raises(WeightsMismatchError) as err:
            fetch(spec, w)
    text = str(err.value)
    assert "no source gave the weights" in text and "HTTP 404" in text and f"the registry says {len(r18)}" in text
    assert "zoo import resnet18.tv_in1k" in text and "\n" not in text
    assert not weights_dir("resnet18", w.tag).exists()


def _kill_mid_download(spec, w, server, at: int) -> int:
    p = FORK.Process(target=functools.partial(download, expected=expected_state(spec)), args=(spec, w))
    base = server.sent
    p.start()
    deadline = time.monotonic() + 60
    while p.is_alive() and time.monotonic() < deadline and server.sent - base < at:
        time.sleep(0.002)
    os.kill(p.pid, signal.SIGKILL)
    p.join()
    return p.exitcode


@pytest.mark.parametrize("ranges", [True, False], ids=["resumed", "restarted"])
def test_a_killed_download_resumes_or_restarts_cleanly(r18: bytes, online, ranges: bool) -> None:
    with FakeWeb({"r18.safetensors": r18}, chunk=1 << 18, delay_s=0.01, ranges=ranges) as web:
        spec, w = entry(UrlSource(f"{web.url}/r18.safetensors"), sha256=sha(r18))
        assert _kill_mid_download(spec, w, web, len(r18) // 2) == -signal.SIGKILL
        part = downloads_dir(spec, w) / "r18.safetensors.part"
        assert part.is_file() and 0 < part.stat().st_size < len(r18)
        assert not weights_dir("resnet18", w.tag).exists()  # nothing half-done in the cache
        before = web.sent
        path = fetch(spec, w)
        resent = web.sent - before
    assert cache.verify(spec, w).status == "ok" and path.is_file()
    if ranges:
        assert web.range_starts and web.range_starts[-1] > 0 and resent < len(r18)
    else:
        assert resent == len(r18)  # the server ignored Range: fetched again from byte 0, same checksum


def test_torchvision_source_checks_the_file_name_prefix(r18: bytes, online, monkeypatch: pytest.MonkeyPatch) -> None:
    # the real enum member, its URL from the installed torchvision, served by a mirror with other bytes
    real = TorchvisionSource("MobileNet_V3_Small_Weights.IMAGENET1K_V1")
    with FakeWeb({"download.pytorch.org/models/mobilenet_v3_small-047dcff4.pth": r18}) as web:
        monkeypatch.setenv("ZOO_URL_MIRROR", web.url)
        spec, w = entry(real, sha256=None)
        with pytest.raises(WeightsMismatchError, match="does not start with 047dcff4"):
            fetch(spec, w)
        assert not weights_dir("resnet18", w.tag).exists()
        # bytes whose sha256 starts with the name's prefix pass, and the full hash is recorded (first use)
        name = f"resnet18-{sha(r18)[:8]}.pth"
        web.files[f"download.pytorch.org/models/{name}"] = r18
        monkeypatch.setattr("zoo.sources.torchvision_url", lambda src: f"https://download.pytorch.org/models/{name}")
        path = fetch(spec, w)
    lock = cache.Lock.read(path.parent)
    assert (lock.origin, lock.pinned_by, lock.original_sha256) == ("torchvision", FIRST_USE, sha(r18))


def test_torchvision_source_uses_torch_hubs_own_copy_without_network(r18: bytes, online, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"resnet18-{sha(r18)[:8]}.pth"
    theirs = tmp_path / "torch-home" / "hub" / "checkpoints" / name
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(r18)
    monkeypatch.setattr("zoo.sources.torchvision_url", lambda src: f"https://127.0.0.1:9/{name}")  # nothing listens
    spec, w = entry(TorchvisionSource("ResNet18_Weights.IMAGENET1K_V1"), sha256=sha(r18))
    assert cache.Lock.read(fetch(spec, w).parent).pinned_by == "registry"
    assert theirs.read_bytes() == r18  # torch.hub's file is read, never moved or removed


def test_first_use_hash_is_recorded_then_enforced(r18: bytes, online, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeWeb({"r18.safetensors": r18}) as web:
        spec, w = entry(UrlSource(f"{web.url}/r18.safetensors"), sha256=None)
        first = fetch(spec, w)
        lock = cache.Lock.read(first.parent)
        assert (lock.pinned_by, lock.original_sha256) == (FIRST_USE, sha(r18))
        before = first.read_bytes()
        other = bytearray(r18)
        other[-1] ^= 0xFF
        web.files["r18.safetensors"] = bytes(other)  # the server now gives other bytes
        with pytest.raises(WeightsMismatchError, match=sha(r18)):
            fetch(spec, w, force=True)
    assert first.read_bytes() == before and cache.verify(spec, w).status == "ok"


def test_first_use_is_said_plainly_by_list_and_info(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = zoo_in_process(capsys, "list", "yolov3*")
    assert code == 0 and "hub+url" in out and "url (hash recorded on first download)" in out
    code, out, _ = zoo_in_process(capsys, "info", "yolov3-spp")
    assert code == 0 and "hash recorded on first download" in out and "pjreddie.com/media/files/yolov3-spp" in out


def test_info_json_lists_each_source_with_its_resolved_url(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.example")
    monkeypatch.setenv("ZOO_URL_MIRROR", "https://mirror.example/zoo")
    code, out, _ = zoo_in_process(capsys, "info", "yolov3", "--json")
    srcs = json.loads(out)["weights"][0]["resolved_sources"]
    assert code == 0 and [s["kind"] for s in srcs] == ["hub", "hub", "url"]
    assert srcs[0]["urls"] == ["https://hub.example/quoc/test-new-model/resolve/8d1e63e822cc6744a93623df378f3da8412c3ad8/yolov3.weights"]
    assert srcs[1]["urls"][0].startswith("https://hub.example/spaces/Epitech/Scarecrow/resolve/fb02fe7")
    assert srcs[2]["urls"] == ["https://mirror.example/zoo/pjreddie.com/media/files/yolov3.weights"]
    code, out, _ = zoo_in_process(capsys, "info", "keypoint-rcnn-r50-fpn", "--json")
    assert json.loads(out)["weights"][0]["resolved_sources"][0]["urls"] == [
        "https://mirror.example/zoo/download.pytorch.org/models/keypointrcnn_resnet50_fpn_coco-fc266e95.pth"]


def test_offline_names_the_sources_and_the_size(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = zoo_in_process(capsys, "download", "openpose-body")
    assert code == 1 and err.count("\n") == 1
    assert ("openpose-body.coco: weights are not cached and the zoo is offline: they would come from "
            "lllyasviel/Annotators@982e7ed, then lllyasviel/ControlNet@38a62cb, 209 MB") in err


@pytest.mark.parametrize("name,says", [("dcgan-64", "zoo train dcgan-64"), ("fast-rcnn", "zoo compose-weights fast-rcnn"),
                                       ("densenet264", "no pretrained weights"), ("cornernet-squeeze", "Google Drive")])
def test_no_source_says_what_exists_instead(name: str, says: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = zoo_in_process(capsys, "download", name)
    assert code == 1 and err.count("\n") == 1 and says in err and "zoo import" in err


def test_mtcnn_from_its_pinned_repository_files_through_a_mirror(online, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real files (facenet-pytorch's wheel ships them) served as the pinned raw URLs: the registry's
    sha256 values match them, and the entry downloads, converts and verifies."""
    data = Path(__import__("facenet_pytorch").__file__).parent / "data"
    spec = default_registry().get("mtcnn")
    w = spec.default_weights()
    (src,) = w.all_sources
    prefix = src.url.removeprefix("https://")
    assert all(sha((data / f.filename).read_bytes()) == f.sha256 for f in w.files)
    with FakeWeb({prefix + f.filename: (data / f.filename).read_bytes() for f in w.files}) as web:
        monkeypatch.setenv("ZOO_URL_MIRROR", web.url)
        path = fetch(spec, w)
    assert cache.Lock.read(path.parent).pinned_by == "registry" and cache.verify(spec, w).status == "ok"


def test_download_family_summary_exit_code_and_rerun(online, monkeypatch: pytest.MonkeyPatch, shared_data: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """--family yolo against an empty fake Hub and a mirror holding only yolov3-tiny's real file: tiny comes
    from its second source, the other two fail (exit 1, the worst item's code), a rerun says cached."""
    tiny = (shared_data / "yolov3-tiny.weights").read_bytes()
    with FakeHub({}) as hub, FakeWeb({"pjreddie.com/media/files/yolov3-tiny.weights": tiny}) as web:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("ZOO_URL_MIRROR", web.url)
        code, out, err = zoo_in_process(capsys, "download", "--family", "yolo")
        assert code == 1 and "3 weights entries: 1 downloaded, 2 failed" in out
        assert err.count("error: ") == 2 and "yolov3-spp.coco" in err and "HTTP 404" in err
        code, out, _ = zoo_in_process(capsys, "download", "yolov3-tiny", "--json")
        assert code == 0 and json.loads(out)[0]["status"] == "cached"
        assert cache.Lock.read(weights_dir("yolov3-tiny", "coco")).pinned_by == "registry"
    monkeypatch.setenv("ZOO_OFFLINE", "1")  # the GAN sources are real URLs: nothing may try them here
    code, out, _ = zoo_in_process(capsys, "download", "--family", "gan", "--json")
    assert code == 1
    rows = {r["model"]: r for r in json.loads(out)}
    assert rows["dcgan-64"]["status"] == "no source" and "zoo train dcgan-64" in rows["dcgan-64"]["detail"]


def test_download_needs_names_or_a_selection(capsys: pytest.CaptureFixture[str]) -> None:
    assert zoo_in_process(capsys, "download")[0] == 2
    assert zoo_in_process(capsys, "download", "resnet18", "--all")[0] == 2
    code, _, err = zoo_in_process(capsys, "download", "--family", "nope")
    assert code == 2 and "unknown family" in err


def test_offline_all_fails_each_in_one_line_and_touches_no_network(capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*a, **k):
        raise AssertionError("network touched offline")

    monkeypatch.setattr(socket, "create_connection", refuse)
    code, out, err = zoo_in_process(capsys, "download", "--task", "keypoints")
    assert code == 1 and "3 weights entries: 3 failed" in out and err.count("offline") == 3


@pytest.mark.parametrize("row,problem", [
    ({"url": "http://example.com/x.pth"}, "https:// URL is required"),
    ({"hub": "a/b", "filename": "x.pth", "revision": "main"}, "40-hex commit"),
    ({"hub": "a/b", "url": "https://x/y"}, "exactly one of"),
    ({"torchvision": "resnet18"}, "weights enum member"),
    ({"url": "https://x/y", "sha256": "0" * 64}, "unknown key"),
])
def test_bad_source_rows_fail_naming_the_field(row: dict, problem: str) -> None:
    with pytest.raises(SpecError, match=problem):
        spec_from_dict({"name": "m", "family": "f", "task": "classification", "builder": "a:b",
                        "weights": [{"tag": "t", "sources": [row]}]}, "test.yaml")


def test_source_rows_parse_in_order() -> None:
    spec = spec_from_dict({"name": "m", "family": "f", "task": "classification", "builder": "a:b", "weights": [
        {"tag": "t", "repo_id": "o/r", "filename": "w.pth", "revision": "a" * 40, "sources": [
            {"hub": "o/s", "filename": "w.pth", "revision": "b" * 40, "repo_type": "space"},
            {"url": "https://example.com/w.pth"}, {"torchvision": "ResNet18_Weights.IMAGENET1K_V1"}]}]}, "test.yaml")
    w = spec.weights[0]
    assert w.all_sources == (HubSource("o/r", "w.pth", "a" * 40), HubSource("o/s", "w.pth", "b" * 40, "space"),
                             UrlSource("https://example.com/w.pth"), TorchvisionSource("ResNet18_Weights.IMAGENET1K_V1"))
    assert spec.to_dict()["weights"][0]["sources"][1] == {"kind": "url", "url": "https://example.com/w.pth"}


def test_zoo_list_json_counts_models_with_a_source(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = zoo_in_process(capsys, "list", "--json")
    models = json.loads(out)
    with_source = [m["name"] for m in models if m["sources"]]
    assert code == 0 and "openpose-body" in with_source and "dcgan-64" not in with_source
    code, out, _ = zoo_in_process(capsys, "list")
    assert f"{len(models)} models, {len(with_source)} with a weights source" in out


def test_torchvision_pins_start_with_the_prefix_in_torchvisions_file_names() -> None:
    """Every full sha256 the registry gives a torchvision source agrees with the installed torchvision's URL."""
    from zoo.sources import hash_prefix, torchvision_url

    reg = default_registry()
    checked = 0
    for name in reg.list():
        for w in reg.get(name).weights:
            for src in w.all_sources:
                if isinstance(src, TorchvisionSource):
                    prefix = hash_prefix(torchvision_url(src))
                    assert prefix and (w.sha256 is None or w.sha256.startswith(prefix)), (name, prefix, w.sha256)
                    checked += bool(w.sha256)
    assert checked >= 7  # alexnet, faster (3), mask (2), keypoint


def test_plain_http_is_refused_except_locally_or_through_the_mirror(tmp_path: Path) -> None:
    from zoo.errors import WeightsError
    from zoo.urlfetch import fetch_url

    with pytest.raises(WeightsError, match="only https://"):
        fetch_url("http://example.com/w.pth", tmp_path / "w.pth")
    assert not (tmp_path / "w.pth.part").exists()


def test_a_server_that_never_answers_fails_within_the_timeout(tmp_path: Path) -> None:
    import socket

    from zoo.errors import WeightsError
    from zoo.urlfetch import fetch_url

    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never sends a byte
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        start = time.monotonic()
        with pytest.raises(WeightsError, match="no answer within 0.5 s"):
            fetch_url(f"http://127.0.0.1:{silent.getsockname()[1]}/w.pth", tmp_path / "w.pth", timeout=0.5)
    assert time.monotonic() - start < 10


def test_the_weights_layer_imports_nothing_above_it() -> None:
    """cache, weights, convert/, hub, sources, urlfetch, resolve: no import statement (function-level ones
    included) names zoo.api or a layer above it (issue 22: the api -> resolve -> hub -> convert -> api circle)."""
    import ast

    root = Path(__file__).resolve().parents[1] / "zoo"
    layer = ["cache.py", "weights.py", "convert/__init__.py", "convert/formats.py", "hub.py", "sources.py",
             "urlfetch.py", "resolve.py"]
    above = ("zoo.api", "zoo.bench", "zoo.eval", "zoo.runtimes", "zoo.track", "zoo.publish", "zoo.testing", "zoo.cli")
    found = []
    for name in layer:
        for node in ast.walk(ast.parse((root / name).read_text())):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{name}:{node.lineno} {m}" for m in mods if m.startswith(above) or m.startswith("zoo_")]
    assert found == []
