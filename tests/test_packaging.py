"""A plain (non-editable) install ships the plugins, registry.yaml and label files in the wheel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_and_lists_models(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "*.egg-info", "build", "__pycache__",
                                                             ".pytest_cache", ".ruff_cache", ".notes"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(src)], check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("cvzoo-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "zoo/registry.yaml" in names and "zoo/data/imagenet1k.txt" in names
    # int8's default calibration photos and their licences travel in the wheel (zoo.runtimes.calibration.BUNDLED)
    assert {"zoo/data/calibration/chelsea.jpg", "zoo/data/calibration/README.md"} <= set(names)
    assert {"zoo_classic/__init__.py", "zoo_yolo/__init__.py", "zoo_rcnn/__init__.py"} <= set(names)
    assert {"zoo_yolo/cfg/yolov3.cfg", "zoo_yolo/cfg/yolov3-tiny.cfg", "zoo_yolo/cfg/yolov3-spp.cfg"} <= set(names)
    assert {"zoo/report/templates/page.html", "zoo/report/assets/style.css", "zoo/report/assets/table.js"} <= set(names)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    code = ("import json, zoo, zoo.plugin_manager as p; from zoo.cli import main\n"
            "print(json.dumps({'file': zoo.__file__, 'registry': str(p.BUNDLED_REGISTRY), "
            "'n': len(zoo.list_models(family='classic')), 'all': len(zoo.list_models()),\n"
            "'yolo_params': sum(p.numel() for p in zoo.build('yolov3-tiny').parameters())}))")
    env = {**os.environ, "PYTHONPATH": str(target)}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["file"].startswith(str(target)) and info["registry"].startswith(str(target))
    assert info["n"] == 20 and info["all"] == len(__import__("zoo").list_models())
    assert info["yolo_params"] == 8852366  # the cfg shipped in the wheel builds the real network
