"""Whether two answers are the same: one comparison for export checks, `--backend`, `--optimize` and the
reduced-precision guard, judged by the task's own answers (its Task's `answers` kind), with one tolerance table.

    from zoo.tasks.parity import compare_results, compare_outputs
    agree = compare_results("detection", torch_results, runtime_results, precision="bf16", conf=0.25)
    agree.same, agree.summary          # False, "1 of 9 detections differ: image 0: dog 0.49 at [...] missing ..."
    compare_outputs(torch_raw, onnx_raw, atol=1e-3, rtol=1e-4).metrics["max_abs"]

How each kind of answer is compared (the tolerances live in TOLERANCES, one entry per kind and precision class):
  topk        each image's top-1 class and its top-k set (a class within `tie` of the deciding score is a tie)
  detections  one-to-one greedy matching, highest reference scores first: same class, IoU >= `iou`, score within
              `score`; a detection within `score` of the threshold both ran at may be kept by one side only
  people      people matched by joint distance: every joint seen by both within `pixels`, score within `score`
  images      PSNR of every image against the reference's, at least `psnr_db`
  embedding   cosine similarity of the vectors, at least `cosine`
  (none)      the results' JSON, numbers within OUTPUTS' tolerance (a task that says nothing is held to its output)
Torch-free: tensors are read through numpy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # a Task is only read here (its `answers`); names resolve through the registry
    from zoo.taskspec import Task

__all__ = ["Agreement", "DetectionTolerance", "EmbeddingTolerance", "ImageTolerance", "OutputTolerance",
           "PeopleTolerance", "TopkTolerance", "TOLERANCES", "OUTPUTS", "compare_outputs", "compare_results",
           "output_tolerance", "psnr", "task_of", "tolerance_for"]


@dataclass(frozen=True)
class Agreement:
    """What a comparison found: `same`, one line saying so, each difference in a line, and its numbers."""

    same: bool
    summary: str
    mismatches: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------- the tolerance table

@dataclass(frozen=True)
class TopkTolerance:
    k: int = 5  # the top-k set compared besides top-1 (the zoo's default --topk)
    tie: float = 0.01  # a class scored within this (softmax probability) of the deciding one is a tie, not a change


@dataclass(frozen=True)
class DetectionTolerance:
    iou: float = 0.9  # the same box (issue 23's criterion)
    score: float = 0.02  # the same score; also the margin around `conf` where a detection may come and go
    conf: float = 0.0  # the score threshold both sides ran with (the caller's: the model's default_conf)
    landmark_px: float = 2.0  # detections with landmarks (MTCNN's 5 points): each within this many pixels


@dataclass(frozen=True)
class PeopleTolerance:
    pixels: float = 1.0  # every joint seen by both sides within this many pixels
    score: float = 0.02  # person scores; also the margin around `conf` and the joint threshold
    conf: float = 0.0


@dataclass(frozen=True)
class ImageTolerance:
    psnr_db: float = 40.0  # 8-bit images: 40 dB is ~2.6 levels RMS; 30 dB (~8 levels) is visually lossless


@dataclass(frozen=True)
class EmbeddingTolerance:
    cosine: float = 0.9999


@dataclass(frozen=True)
class OutputTolerance:
    """Raw outputs: |candidate - reference| <= atol + rtol * max|reference| (over every floating output)."""

    atol: float
    rtol: float = 0.0


# fp32 candidates (other runtimes, fused or reordered kernels) differ by float rounding only (measured: ~1e-6
# relative on resnet18, 6e-5 abs on yolov3-tiny's pixel boxes); the reduced precisions (fp16: 10 mantissa bits,
# bf16 and TF32: 7-10, int8: 8-bit codes) move scores by up to a few hundredths. Answers that move further changed.
FULL = ("fp32",)
TOLERANCES: dict[str, dict[str, Any]] = {
    "topk": {"full": TopkTolerance(), "reduced": TopkTolerance()},
    "detections": {"full": DetectionTolerance(),  # score 0.02: zoo/runtimes/parity.py's, for fp32 runtimes
                   "reduced": DetectionTolerance(score=0.03)},  # 0.03: --optimize's, for fp16/bf16 autocast
    "people": {"full": PeopleTolerance(), "reduced": PeopleTolerance(pixels=3.0, score=0.03)},
    "images": {"full": ImageTolerance(), "reduced": ImageTolerance(psnr_db=30.0)},
    # FaceNet's same-person L2 distance is ~1.1 on unit vectors; cosine 0.99 is L2 0.14, a tenth of it
    "embedding": {"full": EmbeddingTolerance(), "reduced": EmbeddingTolerance(cosine=0.99)},
}
# Raw outputs per precision. fp32 and fp16/bf16 from export's parity check (errors grow with depth: bf16 keeps 8
# mantissa bits, fp16 11); tf32 is "fp32" on CUDA where cuDNN may use TF32 (torch's default): 10 mantissa bits.
OUTPUTS: dict[str, OutputTolerance] = {
    "fp32": OutputTolerance(1e-3, 1e-4),
    "tf32": OutputTolerance(1e-3, 5e-3),
    "fp16": OutputTolerance(5e-2, 2e-2),
    "bf16": OutputTolerance(1e-1, 5e-2),
}


def tolerance_for(task: Task | str, precision: str = "fp32") -> Any:
    """The tolerance `task`'s answers are compared with at `precision` (None: a task without an answers kind,
    compared on its JSON with `output_tolerance(precision)`)."""
    kind = _task(task).answers
    if kind is None:
        return output_tolerance(precision)
    return TOLERANCES[kind]["full" if precision in FULL else "reduced"]


def output_tolerance(precision: str) -> OutputTolerance:
    """Raw-output tolerance at `precision`; a precision without a measured entry gets bf16's (the loosest)."""
    return OUTPUTS.get(precision, OUTPUTS["bf16"])


# ---------------------------------------------------------------------- results

def compare_results(task: Task | str, reference: Sequence[Any], candidate: Sequence[Any], *, tolerance: Any = None,
                    precision: str = "fp32", conf: float | None = None) -> Agreement:
    """Whether `candidate` gives `reference`'s answers, one result per input (a single result is one input).
    `task` is a Task or a task name (resolved through the registry); `tolerance` defaults to the table's entry
    for the task at `precision`; `conf` is the score threshold both ran with (detections, people)."""
    t = _task(task)
    ref, cand = _seq(reference), _seq(candidate)
    if tolerance is None:
        tolerance = tolerance_for(t, precision)
    if conf is not None and hasattr(tolerance, "conf"):
        tolerance = replace(tolerance, conf=float(conf))
    if len(ref) != len(cand):
        return Agreement(False, f"{len(cand)} results against the reference's {len(ref)}",
                         (f"{len(cand)} results against {len(ref)}",), {"results": float(len(ref))})
    compare = _COMPARERS.get(t.answers or "", _json)
    return compare(ref, cand, tolerance)


def task_of(model: Any) -> Task:
    """A ZooModel's Task, from the registry it was built from (the default one otherwise)."""
    from zoo.plugin_manager import default_registry

    return (getattr(model, "registry", None) or default_registry()).task(model.spec.task)


def _task(task: Task | str) -> Task:
    if not isinstance(task, str):
        return task
    from zoo.plugin_manager import default_registry

    return default_registry().task(task)


def _seq(results: Any) -> list[Any]:
    return list(results) if isinstance(results, (list, tuple)) else [results]


def _topk(ref: list[Any], cand: list[Any], tol: TopkTolerance) -> Agreement:
    n = len(ref)
    top1 = topk = 0
    k_seen = tol.k
    bad: list[str] = []
    for i, (r, c) in enumerate(zip(ref, cand)):
        rt, ct = list(r.topk), list(c.topk)
        if not rt or not ct:
            ok = not rt and not ct
            top1 += ok
            topk += ok
            if not ok:
                bad.append(f"image {i}: {len(ct)} classes against the reference's {len(rt)}")
            continue
        first = rt[0]
        tied = next((p for p in rt if p.class_id == ct[0].class_id), None)
        if ct[0].class_id == first.class_id or (tied is not None and first.score - tied.score <= tol.tie):
            top1 += 1
        else:
            bad.append(f"image {i}: top-1 {first.label} {first.score:.3f} -> {ct[0].label} {ct[0].score:.3f}")
        k = min(tol.k, len(rt), len(ct))
        k_seen = min(k_seen, k)
        rk, ck = rt[:k], ct[:k]
        r_ids, c_ids = {p.class_id for p in rk}, {p.class_id for p in ck}
        lost = [p for p in rk if p.class_id not in c_ids and p.score - rk[-1].score > tol.tie]  # not at the cut
        gained = [p for p in ck if p.class_id not in r_ids and p.score - ck[-1].score > tol.tie]
        if lost or gained:
            bad.append(f"image {i}: top-{k} lost {', '.join(p.label for p in lost) or 'none'}, "
                       f"gained {', '.join(p.label for p in gained) or 'none'}")
        else:
            topk += 1
    summary = f"top-1 {top1}/{n}, top-{k_seen} {topk}/{n}"
    same = top1 == n and topk == n
    return Agreement(same, summary if same else f"{summary}: {bad[0]}", tuple(bad),
                     {"images": float(n), "top1_same": float(top1), "topk_same": float(topk)})


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between boxes a [N, 4] and b [M, 4] (x1, y1, x2, y2); two equal zero-area boxes: IoU 1."""
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(br - tl, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    equal = (np.abs(a[:, None, :] - b[None, :, :]) <= 1e-6).all(-1)
    return np.where(union > 0, inter / np.where(union > 0, union, 1), equal.astype(np.float64))


def _box(values: Any) -> str:
    return "[" + ", ".join(f"{float(v):.1f}" for v in values) + "]"


def _detections(ref: list[Any], cand: list[Any], tol: DetectionTolerance) -> Agreement:
    """Greedy one-to-one matching per image, the reference's highest scores first; the best IoU wins. One
    vector op per reference detection: random-init detectors give hundreds per image."""
    edge = tol.conf + tol.score
    bad: list[str] = []
    n_ref = matched = missing = extra = moved = 0
    worst_iou, worst_score, worst_px = 1.0, 0.0, 0.0
    for i, (r, c) in enumerate(zip(ref, cand)):
        rd = sorted(r.detections, key=lambda d: -float(d.score))
        cd = list(c.detections)
        n_ref += len(rd)
        used = np.zeros(len(cd), dtype=bool)
        if rd and cd:
            iou = _iou(np.asarray([d.box for d in rd], np.float64).reshape(-1, 4),
                       np.asarray([d.box for d in cd], np.float64).reshape(-1, 4))
            same_class = np.asarray([d.class_id for d in rd])[:, None] == np.asarray([d.class_id for d in cd])[None]
            ds = np.abs(np.asarray([float(d.score) for d in rd])[:, None] - np.asarray([float(d.score) for d in cd]))
            fit = np.where(same_class & (ds <= tol.score) & (iou >= tol.iou), iou, -1.0)
        else:
            iou = same_class = ds = fit = np.zeros((len(rd), len(cd)))
        for a, d in enumerate(rd):
            row = np.where(used, -1.0, fit[a]) if len(cd) else np.zeros(0)
            b = int(row.argmax()) if len(row) else -1
            if b < 0 or row[b] < 0:
                if float(d.score) >= edge:  # near the threshold a detection may come and go
                    missing += 1
                    bad.append(f"image {i}: {d.label} {float(d.score):.2f} at {_box(d.box)} missing"
                               + _nearest(a, cd, iou, same_class))
                continue
            used[b] = True
            matched += 1
            worst_iou, worst_score = min(worst_iou, float(iou[a, b])), max(worst_score, float(ds[a, b]))
            px = _landmark_px(d, cd[b])
            worst_px = max(worst_px, px)
            if px > tol.landmark_px:
                moved += 1
                bad.append(f"image {i}: {d.label} {float(d.score):.2f} at {_box(d.box)}: landmarks moved {px:.1f} px")
        for b, e in enumerate(cd):
            if not used[b] and float(e.score) >= edge:
                extra += 1
                bad.append(f"image {i}: extra {e.label} {float(e.score):.2f} at {_box(e.box)}")
    metrics = {"detections": float(n_ref), "matched": float(matched), "missing": float(missing),
               "extra": float(extra), "min_iou": worst_iou, "max_score_diff": worst_score, "max_landmark_px": worst_px}
    if bad:
        return Agreement(False, _differ(missing + moved, extra, n_ref, "detections") + bad[0], tuple(bad), metrics)
    if not matched:
        return Agreement(True, "no detections on either side", (), metrics)
    return Agreement(True, f"{matched} detections match (min IoU {worst_iou:.3f}, max score diff {worst_score:.3f})",
                     (), metrics)


def _differ(differ: int, extra: int, n: int, what: str) -> str:
    """e.g. "1 of 9 detections differ, 1 extra: " (the start of a summary; the first difference follows)."""
    return f"{differ} of {n} {what} differ" + (f", {extra} extra" if extra else "") + ": "


def _nearest(a: int, cd: list[Any], iou: np.ndarray, same_class: np.ndarray) -> str:
    """What the candidate has closest to reference detection `a`: the same class at the highest IoU."""
    if not len(cd) or not same_class[a].any():
        return " (no candidate of that class)"
    b = int(np.where(same_class[a], iou[a], -1.0).argmax())
    return f" (nearest: IoU {float(iou[a, b]):.2f}, score {float(cd[b].score):.2f})"


def _landmark_px(a: Any, b: Any) -> float:
    la, lb = getattr(a, "landmarks", None), getattr(b, "landmarks", None)
    if la is None or lb is None:
        return 0.0 if la is None and lb is None else math.inf
    pa, pb = np.asarray(la, np.float64), np.asarray(lb, np.float64)
    if pa.shape != pb.shape:
        return math.inf
    return float(np.sqrt(((pa - pb) ** 2).sum(-1)).max()) if pa.size else 0.0


def _people(ref: list[Any], cand: list[Any], tol: PeopleTolerance) -> Agreement:
    """People matched greedily (highest reference scores first) by the largest joint distance over the joints
    both see; a joint seen by one side only counts unless its score sits within `score` of the joint threshold."""
    edge = tol.conf + tol.score
    bad: list[str] = []
    n_ref = matched = excused = extra = 0
    worst_px = 0.0
    for i, (r, c) in enumerate(zip(ref, cand)):
        thr = float(getattr(r, "joint_threshold", 0.0) or 0.0)
        rp = sorted(r.people, key=lambda p: -float(p.score))
        cp = list(c.people)
        n_ref += len(rp)
        used = [False] * len(cp)
        for a, p in enumerate(rp):
            best, best_b, best_why = math.inf, -1, ""
            for b, q in enumerate(cp):
                if used[b] or abs(float(p.score) - float(q.score)) > tol.score:
                    continue
                px, why = _joints(p, q, thr, tol.score)
                if px < best:
                    best, best_b, best_why = px, b, why
            if best_b >= 0 and best <= tol.pixels and not best_why:
                used[best_b] = True
                matched += 1
                worst_px = max(worst_px, best)
            elif float(p.score) >= edge:
                near = f" (nearest: {best:.1f} px{', ' + best_why if best_why else ''})" if best_b >= 0 else ""
                bad.append(f"image {i}: person {a} ({float(p.score):.2f}) not found{near}")
            else:
                excused += 1
        for b, q in enumerate(cp):
            if not used[b] and float(q.score) >= edge:
                extra += 1
                bad.append(f"image {i}: an extra person ({float(q.score):.2f})")
    metrics = {"people": float(n_ref), "matched": float(matched), "max_joint_px": worst_px}
    if bad:
        return Agreement(False, _differ(n_ref - matched - excused, extra, n_ref, "people") + bad[0], tuple(bad), metrics)
    return Agreement(True, f"{matched} people match (joints within {worst_px:.2f} px)", (), metrics)


def _joints(p: Any, q: Any, thr: float, margin: float) -> tuple[float, str]:
    """(largest distance over the joints both see, what else differs: a joint one side sees clearly)."""
    kp, kq = np.asarray(p.keypoints, np.float64), np.asarray(q.keypoints, np.float64)
    if kp.shape != kq.shape:
        return math.inf, f"{kq.shape[0]} joints against {kp.shape[0]}"
    if kp.shape[-1] < 3:  # no joint scores: every joint is seen
        seen_p = seen_q = np.ones(len(kp), dtype=bool)
        clear = seen_p
    else:
        seen_p, seen_q = kp[:, 2] > thr, kq[:, 2] > thr
        clear = (np.abs(kp[:, 2] - thr) > margin) & (np.abs(kq[:, 2] - thr) > margin)
    flipped = (seen_p != seen_q) & clear
    both = seen_p & seen_q
    px = float(np.sqrt(((kp[both, :2] - kq[both, :2]) ** 2).sum(-1)).max()) if both.any() else 0.0
    return px, (f"{int(flipped.sum())} joints seen by one side only" if flipped.any() else "")


def _images(ref: list[Any], cand: list[Any], tol: ImageTolerance) -> Agreement:
    bad: list[str] = []
    worst = math.inf
    n = 0
    for i, (r, c) in enumerate(zip(ref, cand)):
        ri, ci = _image_list(r), _image_list(c)
        if len(ri) != len(ci):
            bad.append(f"result {i}: {len(ci)} images against the reference's {len(ri)}")
            continue
        for j, (a, b) in enumerate(zip(ri, ci)):
            n += 1
            if a.shape != b.shape:
                bad.append(f"image {i}.{j}: shape {b.shape} against {a.shape}")
                continue
            db = psnr(a, b)
            worst = min(worst, db)
            if not db >= tol.psnr_db:
                bad.append(f"image {i}.{j}: PSNR {db:.1f} dB (at least {tol.psnr_db:g})")
    metrics = {"images": float(n), "min_psnr_db": worst}
    if bad:
        return Agreement(False, f"{len(bad)} of {n} images differ: {bad[0]}", tuple(bad), metrics)
    return Agreement(True, f"{n} images the same (PSNR min {worst:.1f} dB)" if n else "no images on either side",
                     (), metrics)


def _image_list(result: Any) -> list[np.ndarray]:
    images = getattr(result, "images", None)
    return [_array(x) for x in (images if images is not None else [result])]


def psnr(reference: Any, candidate: Any) -> float:
    """Peak signal-to-noise ratio in dB: peak 255 for uint8 images, else the reference's value range."""
    a, b = _array(reference), _array(candidate)
    peak = 255.0 if a.dtype == np.uint8 else max(float(a.max() - a.min()), 1e-12) if a.size else 1.0
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean()) if a.size else 0.0
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def _embeddings(ref: list[Any], cand: list[Any], tol: EmbeddingTolerance) -> Agreement:
    bad: list[str] = []
    worst = 1.0
    for i, (r, c) in enumerate(zip(ref, cand)):
        a = _array(getattr(r, "embedding", r)).astype(np.float64).ravel()
        b = _array(getattr(c, "embedding", c)).astype(np.float64).ravel()
        if a.shape != b.shape:
            bad.append(f"input {i}: {b.size} values against the reference's {a.size}")
            continue
        norm = float(np.linalg.norm(a) * np.linalg.norm(b))
        cos = float(a @ b) / norm if norm > 0 else (1.0 if not a.any() and not b.any() else 0.0)
        worst = min(worst, cos)
        if not cos >= tol.cosine:
            bad.append(f"input {i}: cosine {cos:.4f} (at least {tol.cosine:g})")
    n = len(ref)
    metrics = {"inputs": float(n), "min_cosine": worst}
    if bad:
        return Agreement(False, f"{len(bad)} of {n} embeddings differ: {bad[0]}", tuple(bad), metrics)
    return Agreement(True, f"{n} embeddings the same (cosine min {worst:.5f})", (), metrics)


def _json(ref: list[Any], cand: list[Any], tol: Any) -> Agreement:
    """A task without an answers kind: its results' JSON, numbers within the raw-output tolerance."""
    out_tol = tol if isinstance(tol, OutputTolerance) else OUTPUTS["fp32"]
    agree = compare_outputs([_as_json(r) for r in ref], [_as_json(c) for c in cand], atol=out_tol.atol,
                            rtol=out_tol.rtol)
    return replace(agree, summary=f"results' JSON: {agree.summary}")


def _as_json(result: Any) -> Any:
    to_json = getattr(result, "to_json", None)
    return to_json() if callable(to_json) else result


_COMPARERS: dict[str, Callable[[list[Any], list[Any], Any], Agreement]] = {
    "topk": _topk, "detections": _detections, "people": _people, "images": _images, "embedding": _embeddings}


# ---------------------------------------------------------------------- raw outputs

def compare_outputs(reference: Any, candidate: Any, *, atol: float, rtol: float = 0.0) -> Agreement:
    """Raw outputs (tensors, arrays, numbers, and lists / tuples / dicts of them): the same structure, integer
    and other non-floating values equal, floating values within atol + rtol * max|reference|. Anything that does
    not line up (shape, length, keys, type) is a mismatch, never silently equal; NaN never passes."""
    leaves: list[tuple[str, np.ndarray, np.ndarray]] = []
    bad: list[str] = []
    _walk("output", reference, candidate, leaves, bad)
    diff, scale, where = 0.0, 0.0, ""
    for path, a, b in leaves:
        if not a.size:
            continue
        d = float(np.abs(a - b).max()) if a.size else 0.0
        scale = max(scale, float(np.abs(a).max()))
        if d > diff or math.isnan(d):
            diff, where = d, path
            if math.isnan(d):
                break
    allowed = atol + rtol * scale
    metrics = {"max_abs": diff if not bad else math.inf, "scale": scale, "allowed": allowed}
    if bad:
        return Agreement(False, bad[0], tuple(bad), metrics)
    if not diff <= allowed:
        why = "NaN" if math.isnan(diff) else f"max abs {diff:.3g}"
        return Agreement(False, f"{why} at {where} over the allowed {allowed:.3g}",
                         (f"{where}: {why} (allowed {allowed:.3g})",), metrics)
    return Agreement(True, f"max abs {diff:.3g} (allowed {allowed:.3g})", (), metrics)


def _walk(path: str, a: Any, b: Any, leaves: list[tuple[str, np.ndarray, np.ndarray]], bad: list[str]) -> None:
    if _is_array(a) or _is_array(b):
        if not (_is_array(a) and _is_array(b)):
            bad.append(f"{path}: {type(b).__name__} against the reference's {type(a).__name__}")
            return
        x, y = _array(a), _array(b)
        if x.shape != y.shape:
            bad.append(f"{path}: shape {tuple(y.shape)} against the reference's {tuple(x.shape)}")
        elif _floating(x):
            leaves.append((path, x.astype(np.float64), y.astype(np.float64)))
        elif not np.array_equal(x, y):
            bad.append(f"{path}: {int((x != y).sum())} of {x.size} values differ (not floating: must be equal)")
        return
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            bad.append(f"{path}: {len(b)} items against the reference's {len(a)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            _walk(f"{path}[{i}]", x, y, leaves, bad)
        return
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            bad.append(f"{path}: keys {sorted(map(str, b))} against the reference's {sorted(map(str, a))}")
            return
        for k in a:
            _walk(f"{path}[{k!r}]", a[k], b[k], leaves, bad)
        return
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        leaves.append((path, np.asarray([a], np.float64), np.asarray([b], np.float64)))
        return
    try:
        equal = type(a) is type(b) and bool(a == b)
    except Exception:  # values without a plain equality
        equal = False
    if not equal:
        bad.append(f"{path}: {b!r} against the reference's {a!r}"[:200])


def _is_array(x: Any) -> bool:
    return isinstance(x, np.ndarray) or (hasattr(x, "detach") and hasattr(x, "dtype"))  # numpy or torch


def _floating(x: np.ndarray) -> bool:
    return np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.complexfloating)


def _array(x: Any) -> np.ndarray:
    """numpy view of an array or a torch tensor (bf16/fp16 read as fp32; numpy has no bf16)."""
    if hasattr(x, "detach"):
        t = x.detach()
        if t.is_floating_point():
            t = t.float()
        return t.cpu().numpy()
    return np.asarray(x)
