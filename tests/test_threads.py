"""Thread defaults (zoo.threads): `import zoo` (and so the CLI) sets OMP_WAIT_POLICY=PASSIVE before torch
loads libgomp, only where the user chose no policy, and says what it did."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, os, sys
{first}
import zoo.cli  # the CLI's package: importing it imports zoo first
from zoo.threads import policy_note, threads_sleep, wait_policy
print(json.dumps({{"policy": os.environ.get("OMP_WAIT_POLICY"), "sleep": threads_sleep(), "short": wait_policy(),
                  "note": policy_note(), "torch_loaded": "torch" in sys.modules}}))
"""


def probe(env_changes: dict[str, str | None], first: str = "") -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update({k: v for k, v in env_changes.items() if v is not None})
    out = subprocess.run([sys.executable, "-c", PROBE.format(first=first)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_passive_is_set_when_unset() -> None:
    got = probe({})
    assert got["policy"] == "PASSIVE" and got["sleep"]
    assert got["short"] == "OMP_WAIT_POLICY=PASSIVE (cvzoo default)" and "set by cvzoo" in got["note"]
    assert not got["torch_loaded"]  # set before torch (and libgomp) is loaded: the CLI never imports it early


@pytest.mark.parametrize("changes", [{"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "10000"}])
def test_a_users_choice_is_kept(changes: dict[str, str]) -> None:
    got = probe(changes)
    assert got["policy"] == changes.get("OMP_WAIT_POLICY") and not got["sleep"]
    assert "(user)" in got["short"] and "set by the user" in got["note"]


def test_too_late_after_torch_is_said_not_faked() -> None:
    got = probe({}, first="import torch")
    assert got["policy"] is None and not got["sleep"]
    assert "torch was imported before zoo" in got["note"]


def test_runtime_configs_follow_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    from zoo.threads import onnxruntime_config, openvino_config

    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    assert onnxruntime_config()["session.intra_op.allow_spinning"] == "0"
    assert openvino_config() == {"ENABLE_CPU_PINNING": False}
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert onnxruntime_config()["session.intra_op.allow_spinning"] == "1"
    assert openvino_config() == {"ENABLE_CPU_PINNING": True}
