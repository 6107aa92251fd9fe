"""The summary benchmarks/gpu_check.sh prints at the end: rows of the sweep (% of peak, e2e/forward), what --optimize
chose, the anchors, and the goals of issue 17 with PASS / FAIL / n/a.

    python benchmarks/gpu_check_summary.py OUT_DIR

Reads what gpu_check.sh wrote into OUT_DIR: sweep_<precision>_default.json, optimize_compile.json (resnet50 on
a GPU; the dry run's small model on CPU),
optimize_eager.json (zoo bench --json reports) and anchor_resnet50.json (benchmarks/gpu_anchor_resnet50.py).
Missing files (a stage skipped or failed) make their lines "n/a", never an error.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GOAL_E2E_SHARE = 0.50  # yolov3-tiny e2e bs32 >= 50 % of its forward throughput
GOAL_E2E_IMGS = 5000.0  # ... i.e. >= 5,000 img/s on an H100/H200 class card
GOAL_OPT_VS_DEFAULT = 3.0  # --optimize resnet50 fp16 bs32 >= 3x the default eager row
GOAL_OPT_VS_COMPILE = 1.1  # ... and >= 1.1x torch.compile of torchvision's resnet50
GOAL_ZOO_VS_TV = 1.03  # the zoo's eager network within 3 % of torchvision's


@dataclass
class Goal:
    name: str
    verdict: str  # PASS | FAIL | n/a
    detail: str

    def line(self) -> str:
        return f"  [{self.verdict:4s}] {self.name}: {self.detail}"


def load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def rows(report: dict[str, Any] | None, **match: Any) -> list[dict[str, Any]]:
    if not report:
        return []
    return [r for r in report.get("rows", []) if all(r.get(k) == v for k, v in match.items())]


def one(report: dict[str, Any] | None, **match: Any) -> dict[str, Any] | None:
    found = [r for r in rows(report, **match) if r.get("status") == "ok"]
    return found[0] if found else None


def fmt(v: float | None, spec: str = ".2f") -> str:
    return "-" if v is None else format(v, spec)


def sweep_table(report: dict[str, Any], precision: str) -> list[str]:
    out = [f"sweep {precision}, default configuration (eager, NCHW, unfused):",
           f"  {'model':24s} {'bs':>3s} {'fwd ms':>9s} {'fwd img/s':>10s} {'% peak':>7s} {'e2e ms':>9s} "
           f"{'e2e img/s':>10s} {'e2e/fwd':>8s}  pre/fwd/post ms"]
    models = list(dict.fromkeys(r["model"] for r in report.get("rows", []) if not r.get("variant")))
    for m in models:
        for bs in sorted({r["batch_size"] for r in rows(report, model=m)}):
            f = one(report, model=m, batch_size=bs, kind="forward", variant="")
            e = one(report, model=m, batch_size=bs, kind="end-to-end", variant="")
            bad = [r for r in rows(report, model=m, batch_size=bs) if r.get("status") != "ok"]
            share = (e["throughput"] / f["throughput"]) if f and e and f.get("throughput") else None
            stages = (f"{fmt(e.get('preprocess_ms'))}/{fmt(e.get('forward_ms'))}/{fmt(e.get('postprocess_ms'))}"
                      if e else "")
            out.append(f"  {m:24s} {bs:3d} {fmt(f and f.get('p50_ms'), '9.3f')} {fmt(f and f.get('throughput'), '10.1f')}"
                       f" {fmt(f and f.get('pct_of_peak'), '7.1f')} {fmt(e and e.get('p50_ms'), '9.2f')}"
                       f" {fmt(e and e.get('throughput'), '10.1f')} {fmt(share, '8.1%')}  {stages}"
                       + ("  " + "; ".join(f"{r['kind']} {r['status']}: {r.get('error', '')[:80]}" for r in bad)
                          if bad else ""))
    return out


def optimize_table(report: dict[str, Any]) -> list[str]:
    out = ["--optimize (forward p50 of the chosen configuration vs the fp32 eager row of the same run):"]
    for r in rows(report, variant="optimize:chosen", kind="forward"):
        base = one(report, model=r["model"], batch_size=r["batch_size"], kind="forward", variant="")
        flags = "+".join([r["precision"]] + [f for f in ("channels_last", "fused", "compiled") if r.get(f)]
                         + ([r["backend"]] if r.get("backend", "torch") != "torch" else []))
        speed = (base["p50_ms"] / r["p50_ms"]) if base and r.get("p50_ms") else None
        e2e = one(report, model=r["model"], batch_size=r["batch_size"], kind="end-to-end", variant="optimize:chosen")
        out.append(f"  {r['model']:24s} bs={r['batch_size']:<3d} {flags:36s} {fmt(r.get('p50_ms'), '.3f')} ms"
                   f" ({fmt(r.get('throughput'), '.1f')} img/s) = {fmt(speed, '.2f')}x fp32 eager"
                   + (f"; e2e {fmt(e2e.get('p50_ms'))} ms ({fmt(e2e.get('throughput'), '.1f')} img/s)" if e2e else ""))
    chose = [n for n in report.get("notes", []) if n.startswith("optimize ")]
    out.extend(f"  {n}" for n in chose)
    return out


def anchor_lines(anchor: dict[str, Any]) -> list[str]:
    out = [f"anchor (benchmarks/gpu_anchor_resnet50.py, {anchor.get('device')}, interleaved ABAB, both orders):"]
    for r in anchor.get("rows", []):
        out.append(f"  bs={r['batch_size']:<3d} {r['model']:34s} {r['p50_ms']:8.3f} ms  ratio to torchvision "
                   f"{r['ratio_to_torchvision']:.3f}" + ("  launch-bound" if r.get("launch_bound") else ""))
    return out


def goals(out_dir: Path) -> list[Goal]:
    fp16 = load(out_dir / "sweep_fp16_default.json") or load(out_dir / "sweep_bf16_default.json")
    opt = load(out_dir / "optimize_compile.json")
    name = next((r["model"] for r in rows(opt)), "resnet50")
    anchor = load(out_dir / "anchor_resnet50.json")
    res: list[Goal] = []
    bs = max((r["batch_size"] for r in rows(fp16, model="yolov3-tiny")), default=None)
    f = one(fp16, model="yolov3-tiny", batch_size=bs, kind="forward", variant="") if bs else None
    e = one(fp16, model="yolov3-tiny", batch_size=bs, kind="end-to-end", variant="") if bs else None
    if f and e:
        share = e["throughput"] / f["throughput"]
        ok = share >= GOAL_E2E_SHARE and e["throughput"] >= GOAL_E2E_IMGS
        res.append(Goal(f"yolov3-tiny e2e bs{bs} >= {GOAL_E2E_SHARE:.0%} of forward and >= {GOAL_E2E_IMGS:.0f} img/s",
                        "PASS" if ok else "FAIL",
                        f"e2e {e['throughput']:.0f} img/s = {share:.1%} of forward {f['throughput']:.0f} img/s"))
    else:
        res.append(Goal("yolov3-tiny e2e >= 50 % of forward", "n/a", "no yolov3-tiny rows"))
    bs = max((r["batch_size"] for r in rows(opt, model=name)), default=None)
    chosen = one(opt, model=name, batch_size=bs, kind="forward", variant="optimize:chosen") if bs else None
    default = one(fp16, model=name, batch_size=bs, kind="forward", variant="") if bs else None
    if chosen and default:
        x = default["p50_ms"] / chosen["p50_ms"]
        res.append(Goal(f"--optimize {name} bs{bs} >= {GOAL_OPT_VS_DEFAULT:g}x the default eager "
                        f"{default['precision']} row", "PASS" if x >= GOAL_OPT_VS_DEFAULT else "FAIL",
                        f"{chosen['p50_ms']:.3f} ms vs {default['p50_ms']:.3f} ms = {x:.2f}x"))
    else:
        res.append(Goal(f"--optimize {name} >= 3x default eager", "n/a", "no optimize or sweep rows"))
    comp = [r for r in (anchor or {}).get("rows", []) if "compile" in r["model"]]
    if chosen and comp and name == "resnet50":
        best = min(comp, key=lambda r: r["p50_ms"])
        x = best["p50_ms"] / chosen["p50_ms"]
        res.append(Goal(f"--optimize resnet50 >= {GOAL_OPT_VS_COMPILE:g}x torch.compile(torchvision)",
                        "PASS" if x >= GOAL_OPT_VS_COMPILE else "FAIL",
                        f"{chosen['p50_ms']:.3f} ms vs {best['model']} {best['p50_ms']:.3f} ms = {x:.2f}x "
                        f"(bs {chosen['batch_size']} / {best['batch_size']})"))
    else:
        res.append(Goal("--optimize resnet50 >= 1.1x torch.compile(torchvision)", "n/a",
                        "no compiled anchor (GPU runs only) or no resnet50 optimize rows"))
    zoo_rows = [r for r in (anchor or {}).get("rows", []) if r["model"] == "zoo.build"]
    if zoo_rows:
        worst = max(zoo_rows, key=lambda r: r["ratio_to_torchvision"])
        ok = worst["ratio_to_torchvision"] <= GOAL_ZOO_VS_TV
        res.append(Goal("zoo eager resnet50 within 3 % of torchvision", "PASS" if ok else "FAIL",
                        ", ".join(f"bs{r['batch_size']} {r['ratio_to_torchvision']:.3f}x" for r in zoo_rows)))
    else:
        res.append(Goal("zoo eager resnet50 within 3 % of torchvision", "n/a", "no anchor"))
    return res


def summary(out_dir: Path) -> str:
    lines: list[str] = []
    env = next((r["env"] for r in (load(p) for p in sorted(out_dir.glob("*.json"))) if r and "env" in r), None)
    if env:
        lines.append(f"GPU check: {env.get('device_name')} ({env.get('device')}), torch {env.get('torch')}, "
                     f"CUDA {env.get('cuda') or '-'}, cvzoo {env.get('git_revision', '')[:10]}")
    for p in ("fp16", "bf16"):
        rep = load(out_dir / f"sweep_{p}_default.json")
        if rep:
            lines.extend(sweep_table(rep, p))
    for name in ("optimize_compile.json", "optimize_eager.json"):
        rep = load(out_dir / name)
        if rep:
            lines.extend(optimize_table(rep))
    anchor = load(out_dir / "anchor_resnet50.json")
    if anchor:
        lines.extend(anchor_lines(anchor))
    lines.append("goals of issue 17:")
    lines.extend(g.line() for g in goals(out_dir))
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python benchmarks/gpu_check_summary.py OUT_DIR")
    print(summary(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
