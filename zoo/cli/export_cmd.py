"""`zoo export NAME --format onnx|openvino|torchscript|pt2`: the network as a self-describing artefact, checked
against PyTorch; without --out it lands in (or comes from) the ZOO_HOME/exports cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from zoo.cli.output import emit_json, human_bytes
from zoo.errors import InputError


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'320' or '256x320' (HxW) -> (h, w); anything else is one line. (--size is the zoo's name for it, as in
    bench; --input-size, the issue's spelling, is the same option.)"""
    if text is None:
        return None
    parts = text.lower().replace("*", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values) < 1:
        raise InputError(f"--size expects N or HxW with positive integers (e.g. 224, 416x416), got '{text}'")
    return (values[0], values[-1])


@click.command("export")
@click.argument("name")
@click.option("--format", "fmt", required=True, metavar="FORMAT", help="onnx, openvino, torchscript or pt2")
@click.option("--out", type=click.Path(path_type=Path), help="write the file here (a folder: model.<ext> in it) "
              "instead of the ZOO_HOME/exports cache")
@click.option("--precision", default="fp32", show_default=True,
              help="fp32, fp16, bf16 (openvino) or int8 (onnx, openvino: quantised, calibrated on photos)")
@click.option("--calibration", type=click.Path(path_type=Path), default=None,
              help="int8: a folder of photos to calibrate on, through the model's preprocess (also what the "
                   "accuracy guard compares on) [default: the bundled photos]")
@click.option("--batch", type=int, default=None, help="fixed batch size of the export [default: 1]")
@click.option("--dynamic-batch", is_flag=True, help="any batch size (the first dimension stays symbolic)")
@click.option("--size", "--input-size", "input_size", help="input N or HxW [default: the model's own]")
@click.option("--no-check", is_flag=True, help="skip the parity check against PyTorch")
@click.option("--image", type=click.Path(path_type=Path), help="the real image of the parity check "
              "[default: the bundled photo]")
@click.option("--weights", type=click.Path(path_type=Path), help="a local weights file instead of the cache")
@click.option("--random-init", is_flag=True, help="random weights (timing and format checks only)")
@click.option("--force", is_flag=True, help="overwrite the --out file if it exists")
@click.option("--json", "as_json", is_flag=True, help="one JSON document on stdout")
def export_cmd(name: str, fmt: str, out: Path | None, precision: str, calibration: Path | None,
               batch: int | None, dynamic_batch: bool,
               input_size: str | None, no_check: bool, image: Path | None, weights: Path | None, random_init: bool,
               force: bool, as_json: bool) -> None:
    """Export NAME's network with its metadata embedded (name, weights and their sha256, input spec,
    categories, output structure), then compare it with PyTorch on a random input and on a real image."""
    import zoo
    from zoo.runtimes import check_format, check_precision
    from zoo.runtimes.exporter import export

    check_precision(check_format(fmt), precision)
    if calibration is not None:
        from zoo.runtimes.calibration import calibration_set

        if precision == "fp32":
            raise InputError("--calibration is for reduced precisions (int8 calibrates on it, all are guarded on it)")
        calibration_set(calibration)  # an empty or missing folder: one line before loading anything
    if batch is not None and dynamic_batch:
        raise InputError("--batch N and --dynamic-batch contradict each other: give one")
    if batch is not None and batch < 1:
        raise InputError(f"--batch must be at least 1, got {batch}")
    if weights is not None and random_init:
        raise InputError("--weights FILE and --random-init contradict each other: give one")
    if image is not None and not image.is_file():
        raise InputError(f"{image}: no such image")
    if image is not None and no_check:
        raise InputError("--image is the parity check's photo and --no-check skips that check: give one")
    if image is not None:
        from zoo.images import load_image

        load_image(str(image))  # an unreadable photo is one line now, not a parity check silently skipped
    if out is not None and not force:
        from zoo.fsutil import refuse_existing
        from zoo.runtimes.exporter import placed_paths

        refuse_existing(placed_paths(check_format(fmt), out))
    size = parse_size(input_size)
    model = zoo.load(name, pretrained=not random_init, weights=weights, device="cpu")
    if size is not None:
        from zoo.bench.prepare import check_size

        check_size(model, size)  # YOLO's "a multiple of 32" before any exporter runs
    from zoo.runtimes.exporter import ParityError

    try:
        res = export(model, fmt, out, precision=precision, batch=batch or 1, dynamic_batch=dynamic_batch,
                     input_size=size, check=not no_check, image=str(image) if image else None,
                     calibration=calibration)
    except ParityError as e:  # the advice only where the flag exists (predict/bench --backend have none)
        raise ParityError(f"{e}; pass --no-check to keep it anyway") from None
    if as_json:
        emit_json(res.to_json())
        return
    render(res)


def render(res: Any) -> None:
    """What was written and what it says about itself."""
    size = sum(p.stat().st_size for p in [res.path, res.path.with_suffix(".bin")] if p.is_file())
    how = "cached, instant" if res.cached else f"{res.seconds:.1f} s"
    click.echo(f"{res.path}  ({res.format}, {human_bytes(size)}, {how})")
    click.echo(f"sha256: {res.sha256}")
    if res.parity:
        click.echo("parity with PyTorch (max abs diff): "
                   + ", ".join(f"{k} input {v:.3g}" for k, v in res.parity.items())
                   + (" (int8 moves raw outputs by design: recorded; the accuracy guard judges)"
                      if res.metadata.get("precision") == "int8" else ""))
    else:
        click.echo("parity with PyTorch: not checked (--no-check)")
    for line in guard_lines(res.guard, res.metadata.get("quantization")):
        click.echo(line)
    for key, value in describe(res.metadata):
        click.echo(f"  {key}: {value}")


def guard_lines(guard: dict[str, Any], quant: dict[str, Any] | None) -> list[str]:
    """The accuracy guard of a reduced precision in a line or a few: same answers as fp32, or what changed;
    for int8, what it was calibrated on; which layers stayed fp32 (the guard asked for them)."""
    from zoo.runtimes.guard import judged_on

    lines = []
    if quant:
        cal = quant["calibration"]
        lines.append(f"int8: {quant['tool']}, calibrated on {cal['images']} photos ({cal['source']})")
    kept = (quant or {}).get("fp32_layers") or (guard or {}).get("fp32_layers")
    if kept:
        ops = (quant or {}).get("fp32_ops")
        lines.append(f"kept in fp32 (the guard asked): {', '.join(kept)}" + (f" and {ops} ops after them" if ops else ""))
    if (guard or {}).get("fp32_refused"):
        lines.append(f"asked fp32 but run at {guard['precision']} by OpenVINO's CPU plugin: "
                     + ", ".join(guard["fp32_refused"]))
    if guard:
        n = judged_on(guard)
        if guard["same"]:
            lines.append(f"accuracy guard: same answers as fp32 on {n} ({guard['summary']})")
        else:
            lines.append(f"accuracy guard: {guard['precision']} CHANGES answers on {n}: {guard['summary']}")
            lines.extend(f"  {m}" for m in guard.get("mismatches", [])[1:])
    return lines


def describe(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """Metadata rows for people: long label lists and tree specs shortened."""
    rows = []
    for key, value in meta.items():
        if key == "labels" and isinstance(value, list):
            head = ", ".join(value[:5])
            value = f"{len(value)} ({head}{', ...' if len(value) > 5 else ''})"
        elif key == "inputs" and isinstance(value, list):
            value = ", ".join(f"{i['name']} {'x'.join('N' if d is None else str(d) for d in i['shape'])} {i['dtype']}"
                              for i in value)
        elif key == "quantization" and isinstance(value, dict):
            continue  # said by guard_lines
        elif key in ("in_tree", "out_tree") and isinstance(value, str) and len(value) > 80:
            value = value[:77] + "..."
        rows.append((key, str(value)))
    return rows
