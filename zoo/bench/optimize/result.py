"""What one `--optimize` search found: a Trial per candidate and the choice (OptimizeResult, stored as JSON)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from zoo.optimized import SCHEMA, Candidate


@dataclass
class Trial:
    """What one candidate did: ok (correct and timed), wrong (its answers differ: never chosen), error."""

    candidate: Candidate
    status: str = "ok"
    p50_ms: float | None = None
    mean_ms: float | None = None
    check: str = ""  # what the correctness check found (e.g. "top-1 4/4, top-5 4/4; max abs 3e-3 (allowed ...)")
    error: str = ""
    row: dict[str, Any] | None = None  # the harness' forward BenchRow (asdict), for `zoo bench --optimize`

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "candidate": dataclasses.asdict(self.candidate)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trial:
        return cls(**{**d, "candidate": Candidate.from_dict(d["candidate"])})


@dataclass
class OptimizeResult:
    """The search for one (model, weights, device, batch size, input size): every trial and the choice."""

    model: str
    weights: str
    device: str
    device_name: str
    batch_size: int
    input_size: list[int] | None
    torch: str
    chosen: Candidate
    trials: list[Trial] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    from_cache: bool = False
    schema: str = SCHEMA

    def trial(self, candidate: Candidate) -> Trial | None:
        return next((t for t in self.trials if t.candidate == candidate), None)

    @property
    def chosen_trial(self) -> Trial | None:
        return self.trial(self.chosen)

    @property
    def baseline(self) -> Trial | None:
        """The fp32 eager trial (the default configuration the speed-up is measured against)."""
        return self.trial(Candidate())

    @property
    def speedup(self) -> float | None:
        b, c = self.baseline, self.chosen_trial
        if b is None or c is None or not b.p50_ms or not c.p50_ms:
            return None
        return b.p50_ms / c.p50_ms

    def summary(self) -> str:
        """One line: what was chosen, its time, and the speed-up over fp32 eager."""
        c, b = self.chosen_trial, self.baseline
        times = f"{c.p50_ms:.3f} ms" if c and c.p50_ms else "not timed"
        vs = f" = {self.speedup:.2f}x fp32 eager ({b.p50_ms:.3f} ms)" if self.speedup and b and b.p50_ms else ""
        n_ok = sum(t.status == "ok" for t in self.trials)
        n_wrong = sum(t.status == "wrong" for t in self.trials)
        n_err = sum(t.status == "error" for t in self.trials)
        size = f" {self.input_size[0]}x{self.input_size[1]}" if self.input_size else ""
        return (f"optimize {self.model} bs={self.batch_size}{size} on {self.device_name}: chose {self.chosen.label}, "
                f"{times}{vs}; {len(self.trials)} candidates: {n_ok} correct, {n_wrong} output differs, "
                f"{n_err} failed" + (" (cached search)" if self.from_cache else ""))

    def lines(self) -> list[str]:
        """One line per candidate: status, p50, what the check found (the report's notes)."""
        out = []
        for t in self.trials:
            ms = f"{t.p50_ms:.3f} ms" if t.p50_ms is not None else "-"
            mark = " <- chosen" if t.candidate == self.chosen else ""
            why = t.error if t.status == "error" else t.check
            out.append(f"  {t.candidate.label}: {t.status}, p50 {ms}; {why}{mark}")
        return out

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["chosen"] = dataclasses.asdict(self.chosen)
        d["trials"] = [t.to_dict() for t in self.trials]
        d.pop("from_cache")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OptimizeResult:
        if d.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document")
        kw = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d and f.name != "from_cache"}
        kw["chosen"] = Candidate.from_dict(d["chosen"])
        kw["trials"] = [Trial.from_dict(t) for t in d.get("trials", [])]
        return cls(**kw)
