"""`zoo eval NAME --coco DIR | --ann FILE --images DIR | --imagenet DIR`: score a model (torchrun-aware)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from zoo.cli.output import console, emit_json, table
from zoo.errors import InputError


def _settings(items: tuple[str, ...]) -> dict[str, Any]:
    """KEY=VALUE builder options; values parsed as YAML scalars (512 -> int, 0.5 -> float, true -> bool)."""
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--set expects KEY=VALUE, got '{item}'")
        out[key.strip()] = yaml.safe_load(value)
    return out


@click.command("eval")
@click.argument("name")
@click.option("--coco", type=click.Path(path_type=Path), help="COCO-format folder: annotations/instances_*.json + images")
@click.option("--ann", type=click.Path(path_type=Path), help="a COCO instances JSON file (with --images)")
@click.option("--images", type=click.Path(path_type=Path), help="the folder of the images --ann lists")
@click.option("--split", help="which annotations/instances_<split>.json of --coco (default: the only one, or *val*)")
@click.option("--imagenet", type=click.Path(path_type=Path), help="ImageNet-style folder: one sub-folder per class")
@click.option("--limit", type=int, help="evaluate only the first N images (quick runs)")
@click.option("--batch-size", type=int, default=4, show_default=True)
@click.option("--conf", type=float, default=None, help="score threshold in [0, 1] for tasks that take one [default: 0.001]")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda (under torchrun: cuda:LOCAL_RANK)")
@click.option("--weights", type=click.Path(path_type=Path), help="a local weights file instead of the cache")
@click.option("--random-init", is_flag=True, help="random weights (checks the pipeline; the scores mean nothing)")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="builder option, e.g. --set min_size=512")
@click.option("--results", type=click.Path(path_type=Path), help="write the COCO-format results JSON here")
@click.option("--force", is_flag=True, help="overwrite the --results file if it exists")
@click.option("--json", "as_json", is_flag=True, help="one JSON document on stdout")
@click.option("--no-progress", is_flag=True, help="no progress bar")
@click.option("--backend", default="torch", show_default=True,
              help="run the network on torch, onnxruntime, openvino, torchscript or pt2 (exported once, cached)")
@click.option("--precision", default="fp32", show_default=True,
              help="fp32, fp16, bf16 or int8 (onnxruntime, openvino: quantised; what the backend runs)")
@click.option("--calibration", type=click.Path(path_type=Path), default=None,
              help="--precision int8: a folder of photos to calibrate on [default: the bundled photos]")
@click.option("--threads", type=int, default=None, help="CPU threads of the network [default: torch's]")
def eval_cmd(name: str, coco: Path | None, ann: Path | None, images: Path | None, split: str | None,
             imagenet: Path | None, limit: int | None, batch_size: int, conf: float | None, device: str,
             weights: Path | None, random_init: bool, settings: tuple[str, ...], results: Path | None, force: bool,
             as_json: bool, no_progress: bool, backend: str = "torch", precision: str = "fp32",
             calibration: Path | None = None, threads: int | None = None) -> None:
    """Score NAME on a dataset with pycocotools (bbox / segm / keypoints) or top-1/top-5.

    Under `torchrun --nproc_per_node N` the images are sharded across ranks and rank 0 prints the scores.
    """
    from zoo.cli.predict_cmd import runtime_setup
    from zoo.eval import evaluate
    from zoo.eval.dist import from_env

    device = runtime_setup(backend, precision, threads, device, calibration)
    if results is not None:  # a typo'd folder or a file already there: said before the model loads
        from zoo.fsutil import check_out_file, refuse_existing

        check_out_file(results, "--results")
        if not force:
            refuse_existing([results])

    rank, world, _ = from_env()
    label = name + (f" (rank 0 of {world})" if world > 1 else "")
    with _ProgressBar(label, enabled=not no_progress and rank == 0) as bar:
        report = evaluate(name, coco=coco, ann=ann, images=images, imagenet=imagenet, split=split, limit=limit,
                          batch_size=batch_size, conf=conf, device=device, weights=weights,
                          pretrained=not random_init, results=results, progress=bar.update, backend=backend,
                          precision=precision, threads=threads, calibration=calibration,
                          **_settings(settings))
    if rank != 0:
        return  # one report, from rank 0
    if as_json:
        emit_json(report.to_json())
        return
    kinds = list(report.metrics)
    names: list[str] = []
    for k in kinds:
        names += [n for n in report.metrics[k] if n not in names]
    rows = [[n] + [_fmt(report.metrics[k].get(n), k) for k in kinds] for n in names]
    title = (f"{report.model} ({report.weights}) on {report.dataset}: {report.num_images} images, "
             f"{report.world_size} process{'es' if report.world_size > 1 else ''}, {report.seconds:.1f} s")
    out = console()
    out.print(title)
    table(None, ["metric (%)"] + kinds, rows)
    if report.published:
        pub = "; ".join(f"{ds}: " + ", ".join(f"{k} {v:g}" for k, v in m.items()) for ds, m in report.published.items())
        out.print(f"published: {pub}" + (f" ({report.published_source})" if report.published_source else ""))
    if report.dropped:
        n = sum(report.dropped.values())
        out.print(f"{n} predictions of labels the dataset lacks were left out ({', '.join(sorted(report.dropped))})")
    for note in report.notes:
        out.print(f"[yellow]note: {note}[/yellow]")
    if report.results_file:
        out.print(f"results: {report.results_file}")


class _ProgressBar:
    """A rich bar on stderr fed by evaluate's progress(done, total) callback; started at the first image."""

    def __init__(self, label: str, enabled: bool):
        self.label, self.enabled = label, enabled
        self.bar: Any = None
        self.task: Any = None

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), console=console(stderr=True), transient=False)
            self.task = self.bar.add_task(self.label, total=total)
            self.bar.start()
        self.bar.update(self.task, completed=done)

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _fmt(v: float | None, kind: str) -> str:
    """Every metric is in percent (pycocotools' -1: no ground truth of that size)."""
    if v is None:
        return ""
    return "n/a" if v < 0 else f"{v:.2f}"
