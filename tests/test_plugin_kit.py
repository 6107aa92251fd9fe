"""Issue 14: `zoo plugin new` scaffolds a package that installs, passes its own kit tests and lists; the kit
fails broken plugins with one line that says what to fix; and every built-in family passes the kit."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Any

import pytest
from clikit import zoo
from sweep import CLASSIC_QUICK

from zoo.api import list_models
from zoo.errors import InputError
from zoo.testing.kit import KitFailure, plugin_checks
from zoo.testing.scaffold import scaffold

FAMILIES = ("classic", "rcnn", "yolo", "faces", "pose", "mobilenet")  # cornernet and gan run the kit in their own tests
HEAVY_GMACS = 40.0  # above this, the repository's own suite runs the spec and meta-device checks only (time)


def _venv_over_ours(root: Path) -> Path:
    """A throw-away venv that sees this environment's packages (cvzoo, torch) through a site dir, so a
    scaffolded package can be pip-installed into it without touching the test environment."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    site = subprocess.run([str(root / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(site, "cvzoo-parent.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return root / "bin" / "python"


def test_scaffold_installs_passes_its_tests_and_lists(tmp_path: Path) -> None:
    task = "detection"  # the longer template; the classification one is built in-process below
    pkg = scaffold("zoo-shapes", tmp_path, task=task)
    python = _venv_over_ours(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")}
    run = {"capture_output": True, "text": True, "timeout": 600, "env": env}
    res = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e",
                          str(pkg)], **run)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(pkg)], cwd=pkg, **run)
    assert res.returncode == 0 and "9 passed" in res.stdout, res.stdout + res.stderr
    res = subprocess.run([str(python), "-m", "zoo.cli", "list", "--family", "shapes", "--json"], **run)
    assert '"name": "shapes-tiny"' in res.stdout and f'"task": "{task}"' in res.stdout


def test_classification_scaffold_builds_and_predicts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from zoo.registry import Registry
    from zoo.spec import spec_from_dict
    from zoo.tasks.classification import ClassificationResult
    from zoo.testing.kit import SAMPLE_IMAGE

    pkg = scaffold("zoo-cls", tmp_path, task="classification")
    monkeypatch.syspath_prepend(str(pkg))
    models = importlib.import_module("zoo_cls.models")
    import yaml

    row = yaml.safe_load((pkg / "zoo_cls" / "registry.yaml").read_text())[0]
    reg = Registry()
    from zoo.labelsets import make_label_set

    reg.add_label_set(make_label_set("cls-labels", pkg / "zoo_cls" / "labels.txt"))
    spec = spec_from_dict(row, "registry.yaml", models.build)
    reg.add(spec)
    import zoo

    result = zoo.build(spec, registry=reg).predict(str(SAMPLE_IMAGE))
    assert isinstance(result, ClassificationResult) and {p.label for p in result.topk} == {"circle", "square", "triangle"}


def test_scaffold_refuses_bad_names_and_existing_folders(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a valid distribution name"):
        scaffold("-bad name", tmp_path)
    scaffold("zoo-x", tmp_path)
    with pytest.raises(InputError, match="already exists"):
        scaffold("zoo-x", tmp_path)
    res = zoo("plugin", "new", "zoo x", "--dir", str(tmp_path))
    assert res.returncode == 2 and "not a valid distribution name" in res.stderr


BROKEN = {
    "torch_at_import": ("import torch\nfrom zoo.hookspecs import hookimpl\n", "importing it imports torch"),
    "bad_spec": ("", "add license to the registry row"),
    "raising_builder": ("def build(spec):\n    raise RuntimeError('no net today')\n", "raised RuntimeError: no net today"),
    "wrong_result": ("from zoo.tasks.classification import Classifier\n"
                     "class Wrong(Classifier):\n"
                     "    def postprocess(self, raw, metas):\n        return [{'label': 'x'}] * len(metas)\n"
                     "def build(spec):\n    return Wrong(spec, __import__('torch').nn.Conv2d(3, 2, 1))\n",
                     "predict returned dict, the classification task's result type is ClassificationResult"),
    "clashing": ("", "model 'resnet50' is claimed twice"),
}


def _broken_plugin(site: Path, kind: str) -> None:
    body, _ = BROKEN[kind]
    name = {"clashing": "resnet50"}.get(kind, f"broken-{kind.replace('_', '-')}")
    license_ = "" if kind == "bad_spec" else "MIT"
    builder = "x:y" if kind in ("torch_at_import", "bad_spec", "clashing") else f"kit_{kind}:build"
    hooks = textwrap.dedent(f"""
        from zoo.hookspecs import hookimpl

        @hookimpl
        def zoo_register_models(register):
            register({{"name": {name!r}, "family": "kit", "task": "classification", "builder": {builder!r},
                      "description": "d", "license": {license_!r}, "paper": {{"title": "t", "year": 2024}},
                      "num_params": 1, "gmacs": 1, "categories": "imagenet1k", "notes": "none"}})
    """)
    (site / f"kit_{kind}.py").write_text(body + hooks)
    info = site / f"kit_{kind}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: kit-{kind}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[zoo]\nkit_{kind} = kit_{kind}\n")


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_kit_fails_broken_plugins_saying_what_to_fix(tmp_path: Path, kind: str) -> None:
    _broken_plugin(tmp_path, kind)
    res = zoo("plugin", "check", f"kit_{kind}", env={"PYTHONPATH": str(tmp_path)})
    assert res.returncode == 1, res.stdout + res.stderr
    failures = [ln for ln in res.stdout.splitlines() if ln.startswith("FAIL")]
    assert failures and any(BROKEN[kind][1] in ln for ln in failures), res.stdout
    assert "Traceback" not in res.stdout + res.stderr


def test_example_plugin_is_found_through_its_entry_point() -> None:
    assert list_models(family="mobilenet") == ["mobilenet-v2", "mobilenet-v3-large", "mobilenet-v3-small"]
    res = zoo("plugins", "--json")
    entry = next(p for p in __import__("json").loads(res.stdout) if p["name"] == "mobilenet")
    assert entry["distribution"] == "zoo-mobilenet" and entry["ok"] and len(entry["models"]) == 3


def test_check_of_something_not_installed_is_one_line() -> None:
    res = zoo("plugin", "check", "not-a-plugin")
    assert res.returncode == 2 and "'not-a-plugin' is not an installed zoo plugin" in res.stderr


def _kit_params() -> list[Any]:
    """Every family's checks; the classic models beyond one per architecture (tests/sweep.py) under `full`."""
    classic = set(list_models(family="classic")) - CLASSIC_QUICK
    return [pytest.param(c, marks=pytest.mark.full) if c.id.split(":")[0] in classic else c
            for f in FAMILIES for c in plugin_checks(f, max_gmacs=HEAVY_GMACS)]


@pytest.mark.parametrize("check", _kit_params(), ids=str)
def test_families_pass_the_kit(check: object) -> None:
    try:
        check()  # type: ignore[operator]
    except KitFailure as e:
        pytest.fail(str(e))
