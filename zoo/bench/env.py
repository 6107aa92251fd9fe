"""The environment fingerprint stored with every report: software versions, device, CPU, threads, load."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from pathlib import Path

from zoo.bench.report import EnvInfo
from zoo.devices import DTYPES, cpu_model


@functools.lru_cache(maxsize=1)
def git_revision() -> tuple[str, bool | None]:
    """(commit, dirty) of the checkout cvzoo runs from; ("", None) for an installed wheel."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return "", None
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=5, check=True).stdout
        return rev, bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        return "", None


def cvzoo_version() -> str:
    try:
        from importlib.metadata import version

        return version("cvzoo")
    except Exception:  # not installed as a distribution
        from zoo.version import __version__

        return __version__


def collect_env(device: str = "cpu", precision: str = "fp32") -> EnvInfo:
    """Fingerprint the machine and software for `device` (a torch device string)."""
    import numpy
    import torch

    env = EnvInfo(device=device, precision=precision, dtype=DTYPES.get(precision, precision))
    env.cpu_model = cpu_model()
    env.cpu_count = os.cpu_count() or 0
    env.cpu_affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else env.cpu_count
    env.threads = torch.get_num_threads()
    env.interop_threads = torch.get_num_interop_threads()
    from zoo.threads import wait_policy

    env.thread_wait = wait_policy()
    try:
        env.loadavg_1m = round(os.getloadavg()[0], 2)
    except OSError:
        env.loadavg_1m = None
    try:
        env.cpu_isa = torch.backends.cpu.get_cpu_capability()
    except Exception:  # older torch
        env.cpu_isa = ""
    dev = torch.device(device)
    if dev.type == "cuda":
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        env.device_name = props.name
        env.gpu_memory = int(props.total_memory)
        env.gpu_capability = f"{props.major}.{props.minor}"
    else:
        env.device_name = env.cpu_model
    env.torch = torch.__version__
    env.cuda = torch.version.cuda or ""
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    env.cudnn = str(cudnn) if cudnn else ""
    env.python = platform.python_version()
    env.platform = platform.platform()
    env.numpy = numpy.__version__
    env.cvzoo = cvzoo_version()
    env.git_revision, env.git_dirty = git_revision()
    return env
