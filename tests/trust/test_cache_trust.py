"""Issue 16 items 1-4: verified loads, one writer per entry, the cache's boundary, and writes that are killed
or fail (SIGKILL, ENOSPC, read-only ZOO_HOME) leaving the cache complete or as it was."""

from __future__ import annotations

import dataclasses
import errno
import functools
import json
import multiprocessing
import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from hostile import TRIED
from safetensors.torch import save_file

import zoo
from zoo import cache
from zoo.api import expected_state
from zoo.cache import check_cached, lock_of
from zoo.errors import InputError, StorageError, WeightsMismatchError
from zoo.paths import weights_dir
from zoo.plugin_manager import default_registry

FORK = multiprocessing.get_context("fork")  # children share the parent's imports: no 5 s torch import each


_BASE: dict[str, torch.Tensor] = {}


def resnet18_state(seed: int) -> dict[str, torch.Tensor]:
    """resnet18 weights in timm's tv_in1k layout (the registry entry's format): one random init, shifted by
    `seed` so each seed is a different checkpoint of the same shapes (one slow init per process)."""
    if not _BASE:
        import torchvision

        torch.manual_seed(0)
        state = torchvision.models.resnet18().state_dict()
        _BASE.update({k: v for k, v in state.items() if not k.endswith("num_batches_tracked")})
    return {k: v + seed for k, v in _BASE.items()}


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two different resnet18 checkpoints (A and B) as the user would import them."""
    folder = tmp_path_factory.mktemp("originals")
    for name, seed in (("a.safetensors", 0), ("b.safetensors", 1)):
        save_file(resnet18_state(seed), str(folder / name))
    return folder / "a.safetensors", folder / "b.safetensors"


def entry() -> tuple[Any, Any]:
    spec = default_registry().get("resnet18")
    return spec, spec.default_weights()


def do_import(path: Path) -> Any:
    from zoo.convert import import_entry

    spec, w = entry()
    return import_entry(spec, w, path, expected=expected_state(spec))


def entry_state() -> str:
    """'absent' or 'complete' (lock readable, hash matching, only the entry's own files visible); anything
    else fails the test."""
    folder = weights_dir("resnet18", "tv_in1k")
    if not (folder / "model.safetensors").exists():
        visible = [p.name for p in folder.iterdir()] if folder.exists() else []
        assert visible == [], f"partial entry: {visible}"
        return "absent"
    visible = {p.name for p in folder.iterdir()}
    assert visible <= {"model.safetensors", "lock.json", ".verified.json"}, visible
    lock = cache.Lock.read(folder)
    assert lock is not None, "model.safetensors without its lock"
    os.environ["ZOO_VERIFY"] = "always"
    try:
        check_cached(folder / "model.safetensors", "resnet18", "tv_in1k")
    finally:
        del os.environ["ZOO_VERIFY"]
    return "complete"


def run_child(fn: Callable[..., Any], *args: Any, kill_when: Callable[[], bool] | None = None,
              timeout: float = 120) -> int:
    """Run fn(*args) in a forked process; SIGKILL it once kill_when() is true. Returns its exit code."""
    p = FORK.Process(target=fn, args=args)
    p.start()
    deadline = time.monotonic() + timeout
    while p.is_alive() and time.monotonic() < deadline:
        if kill_when is not None and kill_when():
            os.kill(p.pid, signal.SIGKILL)
            break
        time.sleep(0.002)
    p.join(max(1.0, deadline - time.monotonic()))
    if p.is_alive():
        p.kill()
        pytest.fail("child hung")
    return p.exitcode


# ---------------------------------------------------------------- 1. verified loads

def _corruptions(path: Path, other: bytes) -> dict[str, Callable[[], None]]:
    size = path.stat().st_size

    def flip(at: int, keep_mtime: bool = False) -> Callable[[], None]:
        def go() -> None:
            st = path.stat()
            with open(path, "r+b") as fh:
                fh.seek(at)
                b = fh.read(1)
                fh.seek(at)
                fh.write(bytes([b[0] ^ 0x01]))
            if keep_mtime:
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        return go

    return {
        "flip middle byte": flip(size // 2),
        "flip header byte": flip(20),
        "flip last byte": flip(size - 1),
        "truncated": lambda: os.truncate(path, size - 4096),
        "appended": lambda: open(path, "ab").write(b"\0" * 16),
        "other weights, same size": lambda: path.write_bytes(other),
        "flip with mtime restored": flip(size // 3, keep_mtime=True),
    }


def test_corrupted_cache_is_refused_by_load(originals: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = originals
    spec, w = entry()
    cached = do_import(a).path
    zoo.load("resnet18")  # clean: loads (and stamps)
    good = cached.read_bytes()
    kinds = _corruptions(cached, (tmp_path / "b").write_bytes(b.read_bytes()) and b.read_bytes())
    refused = {"auto": 0, "always": 0}
    for name, corrupt in kinds.items():
        for mode in ("auto", "always"):
            cached.write_bytes(good)
            os.environ["ZOO_VERIFY"] = "always"
            check_cached(cached, "resnet18", "tv_in1k")  # verifies and stamps the restored file
            os.environ["ZOO_VERIFY"] = mode
            try:
                corrupt()
                TRIED[f"corrupted ({mode})"] += 1
                try:  # the whole load once per mode, the load's check for the other kinds (same code path)
                    zoo.load("resnet18") if name == "flip middle byte" else check_cached(cached, "resnet18", "tv_in1k")
                except WeightsMismatchError as e:
                    refused[mode] += 1
                    text = str(e)
                    assert "\n" not in text and str(cached) in text and "lock.json" in text
                    assert f"zoo import resnet18.tv_in1k {a}" in text, text
                    assert lock_of(cached.parent).safetensors_sha256 in text
            finally:
                del os.environ["ZOO_VERIFY"]
    TRIED["corrupted refused (auto)"] += refused["auto"]
    TRIED["corrupted refused (always)"] += refused["always"]
    assert refused["always"] == len(kinds)  # every corruption, when every load hashes
    assert refused["auto"] == len(kinds) - 1  # all but the in-place flip that restored size, mtime and inode
    cached.write_bytes(good)


def test_load_hashes_only_when_the_stat_changes(originals: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cached = do_import(originals[0]).path
    calls: list[str] = []
    real = cache.sha256_file
    monkeypatch.setattr(cache, "sha256_file", lambda p: calls.append(str(p)) or real(p))
    assert check_cached(cached, "resnet18", "tv_in1k") == "stat unchanged"  # stamped when it was stored
    os.utime(cached)  # a touch: re-hashed once, then trusted again
    assert check_cached(cached, "resnet18", "tv_in1k") == "hashed"
    assert check_cached(cached, "resnet18", "tv_in1k") == "stat unchanged"
    monkeypatch.setenv("ZOO_VERIFY", "always")
    assert check_cached(cached, "resnet18", "tv_in1k") == "hashed"
    assert len(calls) == 2
    monkeypatch.setenv("ZOO_VERIFY", "never")
    assert check_cached(cached, "resnet18", "tv_in1k").startswith("not verified")
    monkeypatch.setenv("ZOO_VERIFY", "sometimes")
    with pytest.raises(InputError, match="ZOO_VERIFY"):
        check_cached(cached, "resnet18", "tv_in1k")


def test_verify_never_is_said_by_info_and_bench(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from zoo.cli import main

    monkeypatch.setenv("ZOO_VERIFY", "never")
    main(["info", "resnet18"])
    assert "ZOO_VERIFY=never" in capsys.readouterr().out
    report = zoo.benchmark("resnet18", input_size=32, warmup=0, iters=1, e2e=False, flops=False, memory=False,
                           weights="random")
    assert any("ZOO_VERIFY=never" in n for n in report.notes)


def test_verification_cost_is_measured(originals: tuple[Path, Path], capsys: pytest.CaptureFixture) -> None:
    """Prints the cold (full hash) and warm (stat look-up) cost for the closing note; asserts no time."""
    cached = do_import(originals[0]).path
    (cached.parent / ".verified.json").unlink()
    t0 = time.perf_counter()
    assert check_cached(cached, "resnet18", "tv_in1k") == "hashed"
    t1 = time.perf_counter()
    assert check_cached(cached, "resnet18", "tv_in1k") == "stat unchanged"
    t2 = time.perf_counter()
    with capsys.disabled():
        print(f"\nverify resnet18 ({cached.stat().st_size / 1e6:.0f} MB): cold {1e3 * (t1 - t0):.1f} ms, "
              f"warm {1e3 * (t2 - t1):.2f} ms")


# ---------------------------------------------------------------- 2. concurrency and torn locks

def _import_child(path: Path, barrier: Any, out: Any) -> None:
    barrier.wait()
    done = do_import(path)
    out.put(done.converted)


def test_four_processes_import_the_same_file(originals: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import zoo.convert

    conversions = FORK.Value("i", 0)
    real = zoo.convert.convert_any

    def counted(*args: Any, **kwargs: Any) -> Any:
        with conversions.get_lock():
            conversions.value += 1
        time.sleep(0.3)  # widen the window in which the others arrive
        return real(*args, **kwargs)

    monkeypatch.setattr(zoo.convert, "convert_any", counted)
    barrier, out = FORK.Barrier(4), FORK.Queue()
    procs = [FORK.Process(target=_import_child, args=(originals[0], barrier, out)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    converted = sorted(out.get(timeout=5) for _ in procs)
    TRIED["concurrent writers"] += 4
    assert conversions.value == 1 and converted == [False, False, False, True]
    spec, w = entry()
    assert cache.verify(spec, w).status == "ok" and entry_state() == "complete"


@pytest.mark.parametrize("torn", ["half", "empty", "not json", "wrong types", "missing"])
def test_torn_lock_is_rebuilt_from_the_files(originals: tuple[Path, Path], torn: str) -> None:
    cached = do_import(originals[0]).path
    lock_path = cached.parent / "lock.json"
    text = lock_path.read_text()
    {"half": lambda: lock_path.write_text(text[: len(text) // 2]), "empty": lambda: lock_path.write_text(""),
     "not json": lambda: lock_path.write_text("[1, 2"), "missing": lock_path.unlink,
     "wrong types": lambda: lock_path.write_text(json.dumps({**json.loads(text), "size": "big"}))}[torn]()
    TRIED["torn lock files"] += 1
    spec, w = entry()
    row = cache.verify(spec, w)
    assert row.status == "ok" and "rebuilt" in row.detail
    assert cache.Lock.read(cached.parent).safetensors_sha256 == json.loads(text)["safetensors_sha256"]
    zoo.load("resnet18")


# ---------------------------------------------------------------- 3. the cache's boundary

HOSTILE_NAMES = ["..", ".", "x./tmp/outside", "resnet18./etc", "resnet18...", "resnet18.../..", "../outside",
                 "resnet18./../../outside", "/", "resnet18.\0", "resnet18. ", "", "resnet181", "resnet18.nope"]


def test_cache_rm_never_leaves_the_cache(originals: tuple[Path, Path], tmp_path: Path, zoo_home: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    from zoo.cli import main

    do_import(originals[0])
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    sibling = zoo_home / "precious.txt"
    sibling.write_text("mine")
    before = sorted(str(p) for p in zoo_home.rglob("*"))
    for name in HOSTILE_NAMES + [f"x.{outside}", f"resnet18.{outside}", str(outside)]:
        TRIED["hostile cache rm names"] += 1
        with pytest.raises(SystemExit) as code:
            main(["cache", "rm", name])
        assert code.value.code != 0, name
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (name, err)
        assert sorted(str(p) for p in zoo_home.rglob("*")) == before, name
        assert (outside / "keep.txt").read_text() == "mine" and sibling.read_text() == "mine"
    with pytest.raises(SystemExit):
        main(["cache", "rm", "resnet181"])
    assert "did you mean 'resnet18'" in capsys.readouterr().err
    main(["cache", "rm", "resnet18.tv_in1k"])
    assert not (weights_dir("resnet18", "tv_in1k") / "model.safetensors").exists()
    assert (outside / "keep.txt").exists() and sibling.exists()


@pytest.mark.parametrize("name,tag", [("..", "x"), ("a", ".."), ("a/b", "c"), ("a", "/etc"), ("", "x"), ("a", "")])
def test_every_cache_path_stays_inside(name: str, tag: str) -> None:
    with pytest.raises(InputError):
        weights_dir(name, tag)
    with pytest.raises(InputError):
        cache.cache_remove(name, tag or "..")  # an empty tag means "every tag"; the name is checked then


# ---------------------------------------------------------------- 4. killed and failing writes

def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _import_dying_at(point: str, path: Path) -> None:
    """Child: import `path`, SIGKILLed by itself at `point`."""
    import safetensors.torch

    import zoo.convert

    if point == "in conversion":
        zoo.convert.convert_any = lambda *a, **k: _die()
    elif point == "half-written safetensors":
        def half(tensors: Any, filename: str, metadata: Any = None) -> None:
            Path(filename).write_bytes(b"\0" * 1000)
            _die()
        safetensors.torch.save_file = half
    elif point == "before the lock file":
        cache.Lock.write = lambda self, folder: _die()
    elif point == "between the renames":
        def half_commit(stage: Path, folder: Path) -> None:
            if folder.exists():
                os.replace(folder, folder.parent / f".trash-{folder.name}-{os.getpid()}")
            _die()
        cache.replace_folder = half_commit
    elif point == "after the renames":
        def commit_then_die(stage: Path, folder: Path) -> None:
            trash = folder.parent / f".trash-{folder.name}-{os.getpid()}"
            if folder.exists():
                os.replace(folder, trash)
            os.replace(stage, folder)
            _die()
        cache.replace_folder = commit_then_die
    do_import(path)


KILL_POINTS = ["in conversion", "half-written safetensors", "before the lock file", "between the renames",
               "after the renames"]


def test_sigkill_during_import_leaves_complete_or_absent(originals: tuple[Path, Path]) -> None:
    a, b = originals
    survived = 0
    for prior in (None, a):  # into an empty cache, and over an existing entry
        for point in KILL_POINTS:
            if prior is not None:
                do_import(prior)
            assert run_child(_import_dying_at, point, b) == -signal.SIGKILL, point
            state = entry_state()
            assert state == "complete" or prior is None or point == "between the renames", (point, state)
            survived += 1
    t0 = time.monotonic()
    do_import(b)
    took = time.monotonic() - t0
    rng = random.Random(16)
    for _ in range(4):  # and at random moments of a whole import
        do_import(a)
        delay = rng.uniform(0, took)
        start = time.monotonic()
        run_child(lambda: do_import(b), kill_when=lambda d=delay, s=start: time.monotonic() - s > d)
        entry_state()
        survived += 1
    done = do_import(b)  # the retry succeeds
    assert done.converted or lock_of(done.path.parent).original == str(b)
    assert entry_state() == "complete" and cache.verify(*entry()).status == "ok"
    leftovers = [p.name for p in weights_dir("resnet18", "tv_in1k").parent.iterdir() if p.name.startswith((".staging", ".trash"))]
    assert leftovers == []
    TRIED["kills survived (import)"] += survived


def test_sigkill_at_random_points_of_a_download(monkeypatch: pytest.MonkeyPatch, zoo_home: Path) -> None:
    from fakehub import FakeHub
    from huggingface_hub import constants

    from zoo import hub
    from zoo.sources import download

    spec, w = entry()
    w = dataclasses.replace(w, sha256=None)  # pinned by the fake Hub's LFS sha256
    path = zoo_home / "r18.safetensors"
    save_file(resnet18_state(2), str(path))
    data = path.read_bytes()
    with FakeHub({f"{w.repo_id}/{w.filename}": data}, chunk=1 << 20, delay_s=0.01) as fake:
        monkeypatch.delenv("ZOO_OFFLINE")
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        monkeypatch.setattr(constants, "ENDPOINT", fake.url)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", fake.url + "/{repo_id}/resolve/{revision}/{filename}")
        rng = random.Random(7)
        points = sorted(rng.randrange(len(data)) for _ in range(5))
        kills = 0
        for at in points:
            base = fake.sent
            code = run_child(functools.partial(download, expected=expected_state(spec)), spec, w, kill_when=lambda b=base, a=at: fake.sent - b >= a)
            kills += code == -signal.SIGKILL
            assert entry_state() in ("absent", "complete")
            snap = hub._hub_cached(w.all_sources[0], w.filename)
            assert snap is None or snap.read_bytes() == data  # the Hub cache never shows a partial file either
        out = download(spec, w, expected=expected_state(spec))  # the retry succeeds
        assert out.read_bytes() and entry_state() == "complete"
        assert cache.verify(spec, w).status == "ok"
    TRIED["kills survived (download)"] += kills
    assert kills >= 3


def test_enospc_at_the_write_leaves_the_cache_as_it_was(originals: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import safetensors.torch

    a, b = originals
    first = do_import(a).path
    before = {p.name: p.read_bytes() for p in first.parent.iterdir()}

    def full(tensors: Any, filename: str, metadata: Any = None) -> None:
        Path(filename).write_bytes(b"\0" * 4096)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    for where in ("safetensors", "lock"):
        if where == "safetensors":
            monkeypatch.setattr(safetensors.torch, "save_file", full)
        else:
            monkeypatch.undo()
            monkeypatch.setattr(cache.Lock, "write", lambda self, folder: full({}, str(folder / "x")))
        TRIED["failing writes (ENOSPC)"] += 1
        with pytest.raises(StorageError) as err:
            do_import(b)
        assert "No space left" in str(err.value) and "ZOO_HOME" in str(err.value) and "\n" not in str(err.value)
        assert {p.name: p.read_bytes() for p in first.parent.iterdir()} == before
        assert [p.name for p in first.parent.parent.iterdir() if p.name.startswith((".staging", ".trash"))] == []


def test_read_only_zoo_home_is_one_line_and_loads_still_work(originals: tuple[Path, Path],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Root ignores file modes, so the read-only file system is simulated at the system calls that write."""
    a, b = originals
    first = do_import(a).path
    (first.parent / ".verified.json").unlink()
    before = {p.name: p.read_bytes() for p in first.parent.iterdir()}
    real_open, real_mkdir = os.open, os.mkdir
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def ro_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & writes and str(path).startswith(str(first.parents[2])):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    def ro_mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if str(path).startswith(str(first.parents[2])):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", ro_open)
    monkeypatch.setattr(os, "mkdir", ro_mkdir)
    TRIED["failing writes (read-only)"] += 1
    with pytest.raises(StorageError) as err:
        do_import(b)
    assert "Read-only file system" in str(err.value) and "\n" not in str(err.value)
    zoo.load("resnet18")  # reading a read-only cache still verifies (the stamp just is not saved)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in first.parent.iterdir()} == before
