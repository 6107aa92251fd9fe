"""Plugin discovery through real entry points: isolation of broken plugins, duplicates, tracing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ZOO = [sys.executable, "-m", "zoo.cli.__main__"]


def make_dist(root: Path, dist: str, module: str, source: str, ep_name: str) -> None:
    """A minimal installed distribution: a module plus a dist-info with a `zoo` entry point."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[zoo]\n{ep_name} = {module}\n")


def run_zoo(args: list[str], site: Path, **env: str) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "PYTHONPATH": str(site), **env}
    return subprocess.run(ZOO + args, capture_output=True, text=True, env=e, timeout=120)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    make_dist(tmp_path, "zoo-broken-import", "broken_import", "raise RuntimeError('boom at import')\n", "broken")
    make_dist(tmp_path, "zoo-broken-hook", "broken_hook", """
        from zoo.hookspecs import hookimpl

        @hookimpl
        def zoo_register_models(register):
            register({"name": "half-registered", "family": "bad", "task": "classification", "builder": "x:y"})
            raise ValueError("registration exploded")
    """, "brokenhook")
    make_dist(tmp_path, "zoo-dupe", "dupe_plugin", """
        from zoo.hookspecs import hookimpl

        @hookimpl
        def zoo_register_models(register):
            register({"name": "resnet50", "family": "dupe", "task": "classification", "builder": "x:y"})
            register({"name": "dupe-only", "family": "dupe", "task": "classification", "builder": "x:y",
                      "description": "ok", "license": "MIT"})
    """, "dupe")
    return tmp_path


def test_broken_plugins_do_not_break_list(site: Path) -> None:
    res = run_zoo(["list", "--json"], site)
    assert res.returncode == 0, res.stderr
    names = {m["name"] for m in json.loads(res.stdout)}
    assert "resnet50" in names and "dupe-only" in names
    assert "half-registered" not in names  # a failed registration is rolled back whole
    assert json.loads(res.stdout)[[m["name"] for m in json.loads(res.stdout)].index("resnet50")]["family"] == "classic"


def test_plugins_command_reports_each_failure(site: Path) -> None:
    res = run_zoo(["plugins", "--json"], site)
    assert res.returncode == 1  # failures make `zoo plugins` exit non-zero
    report = {p["name"]: p for p in json.loads(res.stdout)}
    assert report["classic"]["ok"]
    assert "boom at import" in report["broken"]["errors"][0]
    assert "registration exploded" in report["brokenhook"]["errors"][0]
    dupe = " ".join(report["dupe"]["errors"])
    assert "resnet50" in dupe and "zoo/registry.yaml" in dupe and "plugin dupe" in dupe
    assert report["dupe"]["models"] == ["dupe-only"]


def test_load_plugins_env_limits_and_trace_prints(site: Path) -> None:
    res = run_zoo(["list", "--json"], site, ZOO_LOAD_PLUGINS="dupe", ZOO_TRACE_PLUGINS="1")
    assert res.returncode == 0
    listed = {m["name"]: m["family"] for m in json.loads(res.stdout)}
    assert listed == {"dupe-only": "dupe", "resnet50": "dupe"}  # classic not loaded: no conflict
    assert "[zoo trace] zoo_register_models" in res.stderr


def test_list_and_info_do_not_import_torch() -> None:
    code = ("import sys; from zoo.cli import main\n"
            "for args in (['list', '--json'], ['info', 'resnet50', '--json']):\n"
            "    try: main(args)\n"
            "    except SystemExit as e: assert not e.code, e.code\n"
            "bad = [m for m in ('torch', 'torchvision', 'numpy') if m in sys.modules]\n"
            "assert not bad, bad\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]


def test_plugin_commands_and_trainers_are_isolated_and_clashes_reported(tmp_path: Path) -> None:
    """The CLI collects plugin commands (zoo.cli.plugin_commands) and the registry trainers: a command hook that
    fails, a command named like a built-in one, and a trainer claimed twice are reported by `zoo plugins`; the
    plugin's other command still runs, and `zoo train` names the trainer's model as trainable."""
    make_dist(tmp_path, "zoo-cmds", "cmds_plugin", """
        import click
        from zoo.hookspecs import hookimpl

        @hookimpl
        def zoo_register_commands(cli):
            cli.add_command(click.Command("list", callback=lambda: None))
            cli.add_command(click.Command("hello", callback=lambda: click.echo("hello from a plugin")))

        @hookimpl
        def zoo_register_trainers(register):
            register("resnet18", "cmds_plugin:train")
            register("dcgan-64", "cmds_plugin:train")
    """, "cmds")
    make_dist(tmp_path, "zoo-cmds-broken", "cmds_broken", """
        from zoo.hookspecs import hookimpl

        @hookimpl
        def zoo_register_commands(cli):
            raise RuntimeError("commands exploded")
    """, "cmdsbroken")
    res = run_zoo(["plugins", "--json"], tmp_path)
    report = {p["name"]: p for p in json.loads(res.stdout)}
    assert res.returncode == 1 and report["classic"]["ok"]
    assert any("command 'list' is already taken" in e for e in report["cmds"]["errors"])
    # plugins register in entry-point order (cmds before gan): the second claimant's report names both
    assert "trainer for 'dcgan-64' is claimed twice: by cmds and by gan" in report["gan"]["errors"]
    assert "commands exploded" in report["cmdsbroken"]["errors"][0]
    res = run_zoo(["hello"], tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == "hello from a plugin"
    res = run_zoo(["train", "vgg11", "--data", str(tmp_path)], tmp_path)
    assert res.returncode == 2 and "trainable: dcgan-64, resnet18" in res.stderr
