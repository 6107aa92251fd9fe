"""Peak memory of a benchmark row, measured without touching the timed loop.

CUDA: torch.cuda.reset_peak_memory_stats, then max_memory_allocated / max_memory_reserved.
CPU: the peak resident set size. ru_maxrss is a high-water mark for the whole process life, so it is
useless after the first big model; instead Linux lets a process reset its own high-water mark
(writing "5" to /proc/self/clear_refs resets VmHWM), and VmHWM is then read back: exact, and free.
Where that is not allowed, a background thread samples /proc/self/statm every millisecond instead
(it may miss short peaks; `method` says which was used). Before each row glibc's malloc_trim hands
memory freed by earlier rows back to the OS, so the delta is what this row needs.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import torch

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass
class MemoryStats:
    cuda_allocated: int | None = None
    cuda_reserved: int | None = None
    rss_peak: int | None = None
    rss_delta: int | None = None
    method: str = ""


def current_rss() -> int | None:
    """Resident set size of this process in bytes (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def _vm_hwm() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _malloc_trim() -> None:
    """Hand memory that earlier rows freed back to the OS (glibc), so this row's peak RSS delta counts
    what the row needs rather than only what the process had not touched before."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_hwm() -> bool:
    """Reset the kernel's peak-RSS counter of this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class _Sampler(threading.Thread):
    def __init__(self, interval: float = 0.001) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = current_rss() or 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            rss = current_rss()
            if rss is not None and rss > self.peak:
                self.peak = rss

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        rss = current_rss()
        return max(self.peak, rss or 0)


class PeakMemory:
    """Context manager: peak memory of the enclosed work on `device` (result in `.stats`)."""

    def __init__(self, device: torch.device, sample_cpu: bool = True) -> None:
        self.device = device
        self.sample_cpu = sample_cpu
        self.stats = MemoryStats()
        self._before: int | None = None
        self._sampler: _Sampler | None = None
        self._hwm = False

    @property
    def free_of_overhead(self) -> bool:
        """True when measuring costs nothing while it runs (no sampling thread): it may cover timed calls."""
        return self._sampler is None

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        _malloc_trim()
        self._before = current_rss()
        if self._before is None:
            return self
        self._hwm = _reset_hwm() and _vm_hwm() is not None
        if not self._hwm and self.sample_cpu:
            self._sampler = _Sampler()
            self._sampler.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.stats = MemoryStats(cuda_allocated=int(torch.cuda.max_memory_allocated(self.device)),
                                     cuda_reserved=int(torch.cuda.max_memory_reserved(self.device)),
                                     method="torch.cuda max_memory_allocated / max_memory_reserved")
            return
        if self._before is None:
            self.stats = MemoryStats(method="unavailable (no /proc on this OS)")
            return
        if self._hwm:
            peak, method = _vm_hwm(), "peak RSS (VmHWM after resetting it via /proc/self/clear_refs)"
        elif self._sampler is not None:
            peak, method = self._sampler.stop(), "peak RSS sampled from /proc/self/statm every 1 ms"
        else:
            peak, method = None, ""
        if peak is not None:
            self.stats = MemoryStats(rss_peak=peak, rss_delta=peak - self._before, method=method)
