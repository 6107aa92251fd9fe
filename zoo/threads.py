"""Thread-pool defaults that hold up when other processes load the cores (base layer: imports nothing of zoo).

torch's CPU ops run on libgomp, whose idle threads spin-wait (about 300k spins) before they sleep. When a
core is taken by another busy process, the spinning thread and the one it waits for share that core, and a
2-thread run becomes several times slower than 1 thread (yolov3-tiny on 2 cores beside one busy process:
537 ms per image against 57 ms at 1 thread; benchmarks/busy_load.py measures it). `OMP_WAIT_POLICY=PASSIVE`
makes waiting threads sleep at once; libgomp reads it once, when torch loads it, so `import zoo` sets it
before torch is imported, and only where the user set neither it nor `GOMP_SPINCOUNT`. ONNX Runtime's and
OpenVINO's own pools follow the same choice (`runtime_options`).
"""

from __future__ import annotations

import os
import sys

WAIT_POLICY = "OMP_WAIT_POLICY"
SPIN_COUNT = "GOMP_SPINCOUNT"  # libgomp's finer knob: a user who sets it has chosen a policy too
DEFAULT_WAIT_POLICY = "PASSIVE"

_state = {"applied": False, "late": False}  # what apply_defaults did in this process


def apply_defaults() -> None:
    """Set OMP_WAIT_POLICY=PASSIVE unless the user chose a policy or torch (and so libgomp) is already loaded."""
    if WAIT_POLICY in os.environ or SPIN_COUNT in os.environ:
        return
    if "torch" in sys.modules:  # libgomp has read its environment: setting it now would only mislead
        _state["late"] = True
        return
    os.environ[WAIT_POLICY] = DEFAULT_WAIT_POLICY
    _state["applied"] = True


def threads_sleep() -> bool:
    """Whether waiting pool threads sleep rather than spin (the policy torch's OpenMP runs with)."""
    return os.environ.get(WAIT_POLICY, "").strip().upper() == "PASSIVE" or os.environ.get(SPIN_COUNT, "").strip() == "0"


def onnxruntime_config() -> dict[str, str]:
    """ONNX Runtime session config entries: its intra-op pool spins by default; it follows torch's policy."""
    spin = "0" if threads_sleep() else "1"
    return {"session.intra_op.allow_spinning": spin, "session.inter_op.allow_spinning": spin}


def openvino_config() -> dict[str, object]:
    """OpenVINO CPU properties: it pins its TBB workers to cores by default, which a busy core then stalls."""
    return {"ENABLE_CPU_PINNING": not threads_sleep()}


def wait_policy() -> str:
    """The short form for the environment fingerprint: "PASSIVE (cvzoo default)", "ACTIVE (user)", ..."""
    chosen = ", ".join(f"{k}={os.environ[k]}" for k in (WAIT_POLICY, SPIN_COUNT) if os.environ.get(k))
    if _state["applied"]:
        return f"{chosen} (cvzoo default)"
    return f"{chosen} (user)" if chosen else "libgomp default (spin)"


def policy_note() -> str:
    """One line for the bench notes and the environment fingerprint: how idle threads wait, and who chose it."""
    policy = os.environ.get(WAIT_POLICY)
    spin = os.environ.get(SPIN_COUNT)
    if _state["applied"]:
        who = "set by cvzoo as it was unset; OMP_WAIT_POLICY=ACTIVE lets threads spin"
    elif _state["late"]:
        who = "libgomp's default: torch was imported before zoo, so cvzoo could not set PASSIVE"
    elif policy or spin:
        who = "set by the user"
    else:
        who = "libgomp's default"
    shown = ", ".join(f"{k}={v}" for k, v in ((WAIT_POLICY, policy), (SPIN_COUNT, spin)) if v) or "unset"
    if threads_sleep():
        rest = "idle threads sleep (torch's OpenMP, ONNX Runtime); OpenVINO does not pin its threads to cores"
    else:
        rest = "idle threads spin before sleeping (torch's OpenMP, ONNX Runtime); OpenVINO pins its threads"
    return f"thread waiting: {shown} ({who}); {rest}"
