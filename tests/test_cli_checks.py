"""Issue 25: bad values and clashing names are refused up front in one line (exit 2), before any work."""

from __future__ import annotations

import importlib.metadata as md
from pathlib import Path

import pytest

from tests.clikit import zoo_in_process


def test_plugin_new_refuses_an_installed_plugins_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = zoo_in_process(capsys, "plugin", "new", "zoo-classic", "--dir", str(tmp_path))
    assert code == 2 and "entry point 'classic' is already the plugin of cvzoo" in err
    code, _, err = zoo_in_process(capsys, "plugin", "new", "zoo-classic", "--family", "myclassic",
                                  "--dir", str(tmp_path))
    assert code == 2 and "module zoo_classic is already" in err
    assert list(tmp_path.iterdir()) == []
    code, _, err = zoo_in_process(capsys, "plugin", "new", "zoo-123abc", "--dir", str(tmp_path))
    assert code == 2 and "must start with a lowercase letter" in err and "give --family" in err
    code, _, err = zoo_in_process(capsys, "plugin", "new", "zoo-mine", "--dir", str(tmp_path / "no" / "x"))
    assert code == 2 and "does not exist" in err and not (tmp_path / "no").exists()


def test_plugin_manager_reports_two_distributions_claiming_one_entry_point(tmp_path: Path) -> None:
    from zoo.plugin_manager import build_registry

    info = tmp_path / "zoo_classic-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-classic\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[zoo]\nclassic = zoo_classic\nclassic2 = zoo_classic\n")
    mine = list(md.PathDistribution(info).entry_points)
    builtin = [ep for ep in md.entry_points(group="zoo") if ep.name == "classic"]
    _, infos, _ = build_registry(builtin + mine)
    report = {i.name: i for i in infos}
    assert [i.name for i in infos] == ["classic", "classic2"]
    errors = " ".join(report["classic"].errors)
    assert "entry point 'classic' is claimed by two distributions" in errors and "zoo-classic" in errors
    assert "cvzoo" in errors and not report["classic"].ok
    assert "module zoo_classic is claimed by two distributions" in " ".join(report["classic2"].errors)
