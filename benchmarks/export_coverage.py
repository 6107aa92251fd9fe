"""Which model exports to which format, with what parity: the table in docs/runtimes.md.

    .venv/bin/python benchmarks/export_coverage.py [--models resnet18,yolov3-tiny,...|all] [--formats onnx,...]
        [--threads 2] [--json out.json]

For each model and format, `zoo.runtimes.exporter` (its exporter choice, its parity check on random data and on
a real photo through the model's own preprocess) at a small input, random weights. A refusal is one line
naming the op or the reason (an ExportError), never a traceback. Heavy networks are built reduced (noted in
the table) so the whole table runs in minutes; their layers and ops are the full models'.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
from typing import Any

import torch

import zoo
from zoo.errors import ZooError, first_line
from zoo.runtimes import FORMATS, export

# one model per architecture (the default); `--models all` takes every registered model
DEFAULT = ["alexnet", "vgg11", "vgg16_bn", "resnet18", "resnet50", "densenet121", "googlenet", "mobilenet-v3-small",
           "yolov3-tiny", "yolov3", "yolov3-spp", "faster-rcnn-mobilenet-v3-fpn", "faster-rcnn-r50-fpn",
           "faster-rcnn-r50-fpn-v2", "mask-rcnn-r50-fpn", "fast-rcnn", "rcnn", "keypoint-rcnn-r50-fpn",
           "openpose-body", "cornernet-hourglass104", "cornernet-squeeze", "dcgan-64", "cyclegan-horse2zebra",
           "biggan-deep-128", "facenet-inception-resnet-v1", "mtcnn"]
SMALL_CORNERNET = {"depth": 1, "dims": [32, 32], "modules": [1, 1], "cnv_dim": 32}
SMALL_BIGGAN = {"channel_width": 8, "output_dim": 64, "attention_layer_position": 2,
                "layers": [(False, 16, 16), (True, 16, 8), (True, 8, 4), (True, 4, 2), (True, 2, 1)]}


def case(name: str) -> tuple[Any, tuple[int, int] | None, str]:
    """(model, input size, note) for one table row."""
    spec = zoo.get_spec(name)
    family = spec.family
    if family in ("rcnn", "pose") and name != "openpose-body":
        opts: dict[str, Any] = {}
        if name in ("fast-rcnn", "rcnn", "fast-rcnn-vgg16", "rcnn-vgg16"):
            opts = {"max_proposals": 8}
        else:
            opts = {"min_size": 128, "max_size": 160}
        return zoo.build(name, **opts), (120, 160), f"options {opts}"
    if family == "cornernet":
        spec = dataclasses.replace(spec, options={**spec.options, "arch_overrides": SMALL_CORNERNET})
        return zoo.build(spec), (63, 63), "reduced (depth 1, 32 channels): the same ops"
    if name.startswith("biggan"):
        return zoo.build(spec, **SMALL_BIGGAN), None, "reduced (channel width 8, 64 px): the same ops"
    if family == "gan":
        return zoo.build(name), None if name.startswith("dcgan") else (64, 64), ""
    if name.startswith("yolov3"):
        return zoo.build(name), (128, 128), ""
    if name == "facenet-inception-resnet-v1":
        return zoo.build(name), (96, 96), ""
    if name == "mtcnn":
        return zoo.build(name), (64, 64), ""
    return zoo.build(name), (64, 64), ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(DEFAULT))
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the exports in ZOO_HOME's cache (default: removed)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    names = zoo.list_models() if args.models == "all" else args.models.split(",")
    formats = args.formats.split(",")
    rows = []
    print("| model | family | input | " + " | ".join(formats) + " | note |")
    print("|---|---|---|" + "---|" * len(formats) + "---|")
    for name in names:
        torch.manual_seed(0)
        try:
            model, size, note = case(name)
            model.eval()
        except Exception as e:
            print(f"| {name} | | | " + " | ".join("build failed" for _ in formats) + f" | {first_line(e)} |", flush=True)
            continue
        cells = {}
        for fmt in formats:
            t0 = time.perf_counter()
            try:
                res = export(model, fmt, input_size=size)
                worst = max(res.parity.values()) if res.parity else float("nan")
                exporter = str(res.metadata.get("exporter", ""))
                cells[fmt] = {"ok": True, "max_abs": worst, "parity": res.parity, "exporter": exporter,
                              "seconds": time.perf_counter() - t0}
            except (ZooError, Exception) as e:  # one line per refusal, the table goes on
                cells[fmt] = {"ok": False, "why": first_line(e)[:240], "seconds": time.perf_counter() - t0}
        label = "x".join(map(str, size)) if size else model.input_label()
        text = [f"yes ({c['max_abs']:.1e})" if c["ok"] else f"no: {c['why']}" for c in cells.values()]
        print(f"| {name} | {model.spec.family} | {label} | " + " | ".join(text) + f" | {note} |", flush=True)
        rows.append({"model": name, "family": model.spec.family, "input": label, "note": note, "formats": cells})
        del model
        if not args.keep:  # VGG's four artefacts alone are 2 GB: the table needs none of them afterwards
            from zoo.paths import safe_part, zoo_home

            shutil.rmtree(zoo_home() / "exports" / safe_part(name, "model name"), ignore_errors=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"torch": torch.__version__, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
