"""OpenPose body end to end per image: the zoo against the reference PyTorch port, same weights, same image,
same scale search, in one process; ratios printed, and the people and joints of both compared.

    .venv/bin/python benchmarks/openpose_vs_reference.py [--reference controlnet_aux | PATH_TO_HZZONE_CHECKOUT]
        [--weights body_pose_model.pth] [--image PATH] [--size 1280x720] [--rounds 3] [--threads 2]

Reference: controlnet_aux's `open_pose.body.Body` (a copy of Hzzone/pytorch-openpose's that resizes with
INTER_AREA / INTER_LANCZOS4; the zoo then runs with resample="area-lanczos"), or Hzzone's own src/body.py from
a checkout (OpenCV bicubic; the zoo runs with its default resample="cubic"). controlnet_aux is a
benchmark-only dependency (it pins its own stack): `pip install --no-deps controlnet_aux==0.0.10`; only its
open_pose files are loaded (its package __init__, which imports every other annotator, is bypassed).

Weights: a real body_pose_model.pth if given. Without it, random weights in the reference layout, with the
last heatmap and PAF layers calibrated on the benchmark image (about 0.3 % of heatmap pixels above 0.25 and
PAFs of O(0.5)) so that both sides find a realistic handful of part candidates and limbs: with untouched
random weights every pixel is a candidate and the reference's per-pair loops would run for hours. The
people found are then not real people, but both sides must find the same ones.

Rows (p50 over rounds, each side timed alternately): end to end (image in memory -> people), the network
alone at the same input, and the zoo's grouping alone (maps -> people). ratio = reference / zoo.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

import zoo
from zoo_pose import grouping
from zoo_pose.convert import convert_openpose_body
from zoo_pose.openpose import image_maps

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def load_reference(which: str) -> tuple[Any, str]:
    """-> (the reference's body module, the zoo resample mode that matches it)."""
    if which == "controlnet_aux":
        spec = importlib.util.find_spec("controlnet_aux")
        if spec is None or not spec.submodule_search_locations:
            sys.exit("controlnet_aux is not installed: pip install --no-deps controlnet_aux==0.0.10")
        folder = Path(spec.submodule_search_locations[0]) / "open_pose"
        pkg = types.ModuleType("_cnaux_open_pose")
        pkg.__path__ = [str(folder)]
        sys.modules["_cnaux_open_pose"] = pkg
        importlib.import_module("_cnaux_open_pose.util")  # as the package's __init__ does: util first (circular)
        return importlib.import_module("_cnaux_open_pose.body"), "area-lanczos"
    checkout = Path(which)
    if not (checkout / "src" / "body.py").is_file():
        sys.exit(f"{checkout}: not a Hzzone/pytorch-openpose checkout (src/body.py missing)")
    sys.path.insert(0, str(checkout))
    return importlib.import_module("src.body"), "cubic"


def reference_layout_weights(image_bgr: np.ndarray, path: Path, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random reference-named weights (activation-preserving init), last layers calibrated on the image."""
    from zoo_pose.convert import reference_shapes

    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, shape in reference_shapes().items():
        if k.endswith(".weight"):
            fan_in = shape[1] * shape[2] * shape[3]
            state[k] = torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5
        else:
            state[k] = (torch.rand(shape, generator=g) - 0.5) * 0.2
    net = zoo.build("openpose-body").net.eval()
    net.load_state_dict(convert_openpose_body(state))
    from zoo_pose.openpose import prepare

    x, _ = prepare(image_bgr, 0.5)
    with torch.inference_mode():
        paf, heat = net(x)
    for name, maps, target in (("Mconv7_stage6_L2", heat, None), ("Mconv7_stage6_L1", paf, 0.5)):
        w, b = state[f"{name}.weight"], state[f"{name}.bias"]
        flat = maps[0].flatten(1)
        if target is None:  # heatmaps: a few pixels per channel above 0.25 (before the port's final ReLU)
            scale = 0.5 / (flat.quantile(0.997, dim=1) - flat.median(dim=1).values).clamp(min=1e-6)
            state[f"{name}.weight"] = w * scale.view(-1, 1, 1, 1)
            state[f"{name}.bias"] = (b - flat.quantile(0.997, dim=1)) * scale + 0.25
        else:  # PAFs: unit-ish vectors
            scale = target / flat.std(dim=1).clamp(min=1e-6)
            state[f"{name}.weight"] = w * scale.view(-1, 1, 1, 1)
            state[f"{name}.bias"] = b * scale
    torch.save(state, path)
    return state


def p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", default="controlnet_aux")
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--image", type=Path, default=DATA / "images" / "grace_hopper.jpg")
    ap.add_argument("--size", default="1280x720", help="WxH the image is resized to ('' keeps it)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    ref_mod, resample = load_reference(args.reference)
    bgr = cv2.imread(str(args.image))
    if bgr is None:
        sys.exit(f"{args.image}: cannot read")
    if args.size:
        w, h = (int(v) for v in args.size.lower().split("x"))
        bgr = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA)
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    with tempfile.TemporaryDirectory() as tmp:
        wpath = args.weights or Path(tmp) / "body_pose_model.pth"
        if args.weights is None:
            reference_layout_weights(bgr, wpath)
        ref = ref_mod.Body(str(wpath))
        model = zoo.load("openpose-body", weights=wpath)
    model.eval()

    def ours_e2e() -> Any:
        return model.predict(rgb, resample=resample)

    def ours_parts() -> tuple[float, float, float, Any]:
        t0 = time.perf_counter()
        with torch.inference_mode():
            batch, metas = model.preprocess(rgb, resample=resample)
            t1 = time.perf_counter()
            raw = model(batch)
            t2 = time.perf_counter()
            maps = image_maps(raw, metas[0])
            out = grouping.group(maps)
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2, out

    ref_net_input = None

    def ref_net() -> None:
        with torch.no_grad():
            ref.model(ref_net_input)

    # warm up both, then alternate
    ref_out = ref(bgr)
    ours_e2e()
    _, _, _, our_out = ours_parts()
    batch, _ = model.preprocess(rgb, resample=resample)
    ref_net_input = batch[0]
    samples: dict[str, list[float]] = {k: [] for k in ("ref e2e", "zoo e2e", "ref net", "zoo net", "zoo pre", "zoo group")}
    for _ in range(args.rounds):
        t = time.perf_counter()
        ref_out = ref(bgr)
        samples["ref e2e"].append(time.perf_counter() - t)
        t = time.perf_counter()
        result = ours_e2e()
        samples["zoo e2e"].append(time.perf_counter() - t)
        t = time.perf_counter()
        ref_net()
        samples["ref net"].append(time.perf_counter() - t)
        pre, net_s, group_s, our_out = ours_parts()
        samples["zoo pre"].append(pre)
        samples["zoo net"].append(net_s)
        samples["zoo group"].append(group_s)

    rc, rs = ref_out
    oc, os_ = our_out
    same_candidates = rc.shape[0] == oc.shape[0] and (rc.shape[0] == 0 or np.array_equal(rc[:, [0, 1, 3]], oc[:, [0, 1, 3]]))
    same_people = rs.shape == os_.shape and np.array_equal(rs[:, :18], os_[:, :18])
    ref_group = p50(samples["ref e2e"]) - p50(samples["ref net"])
    print(f"image {args.image.name} {bgr.shape[1]}x{bgr.shape[0]}, scale search {list((0.5,))}, threads {args.threads}, "
          f"reference {args.reference} (zoo resample={resample}), weights {'given' if args.weights else 'random, calibrated'}")
    print(f"network input {tuple(ref_net_input.shape)}; candidates ref {len(rc)} zoo {len(oc)}; people ref {len(rs)} zoo {len(os_)}; "
          f"same candidates: {same_candidates}; same people and joints: {same_people}; zoo result people: {len(result.people)}")
    print(f"{'row':<28}{'reference ms':>14}{'zoo ms':>10}{'ratio ref/zoo':>15}")
    rows = [("end to end", p50(samples["ref e2e"]), p50(samples["zoo e2e"])),
            ("network", p50(samples["ref net"]), p50(samples["zoo net"])),
            ("after the network (e2e - net)", ref_group, p50(samples["zoo e2e"]) - p50(samples["zoo net"])),
            ("zoo grouping alone", float("nan"), p50(samples["zoo group"])),
            ("zoo preprocess alone", float("nan"), p50(samples["zoo pre"]))]
    for name, r, z in rows:
        print(f"{name:<28}{r:>14.1f}{z:>10.1f}{(r / z if r == r else float('nan')):>15.2f}")
    print("command: .venv/bin/python benchmarks/openpose_vs_reference.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
