"""`zoo bench NAME...`: the benchmark harness on the command line (a thin layer over zoo.bench)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from zoo.errors import InputError

REGRESSION_EXIT = 3  # --compare found a regression (errors exit 1 or 2, like every zoo command)
FAILED_EXIT = 1  # some rows failed (build, size, out of memory): the run is not a success


def _ints(text: str) -> tuple[int, ...]:
    try:
        out = tuple(int(p) for p in text.replace(" ", "").split(",") if p)
    except ValueError:
        raise InputError(f"--batch-size wants comma-separated integers like 1,8,32, not '{text}'") from None
    if not out:
        raise InputError("--batch-size is empty")
    if min(out) < 1:
        raise InputError(f"--batch-size must be at least 1, got {min(out)}")
    return out


def _size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    parts = text.lower().replace(",", "x").split("x")
    try:
        nums = [int(p) for p in parts if p]
    except ValueError:
        raise InputError(f"--size wants N or HxW (e.g. 224 or 384x640), not '{text}'") from None
    if any(n < 1 for n in nums):
        raise InputError(f"--size must be at least 1, got '{text}'")
    if len(nums) == 1:
        return (nums[0], nums[0])
    if len(nums) == 2:
        return (nums[0], nums[1])
    raise InputError(f"--size wants N or HxW (e.g. 224 or 384x640), not '{text}'")


@click.command("bench")
@click.argument("names", nargs=-1)
@click.option("--task", help="benchmark every model of this task (e.g. detection), in one table")
@click.option("--device", default="auto", show_default=True, help="auto (cuda when available), cpu, cuda, cuda:N")
@click.option("--batch-size", "batch_size", default="1", show_default=True, help="comma-separated, e.g. 1,8,32")
@click.option("--precision", default="fp32", show_default=True,
              help="fp32, fp16, bf16 (torch: autocast; runtimes: their own), int8 (--backend onnxruntime/"
                   "openvino: quantised, calibrated on --calibration), or several (fp32,int8) or all")
@click.option("--backend", "backend", default=None,
              help="torch,onnxruntime,openvino or all: one table across backends, with a parity column")
@click.option("--calibration", type=click.Path(path_type=Path), default=None,
              help="fp16/bf16/int8: a folder of photos int8 calibrates on and every accuracy guard judges "
                   "[default: the bundled photos]")
@click.option("--parity-image", default=None, type=click.Path(exists=True, dir_okay=False),
              help="--backend, detectors: the photo whose detections are compared with torch fp32's")
@click.option("--channels-last", is_flag=True, help="model and inputs in channels_last memory format")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the model (compile time reported apart)")
@click.option("--compile-mode", default=None, help="torch.compile mode: default, reduce-overhead, max-autotune")
@click.option("--fuse", is_flag=True, help="fold BatchNorm into the preceding convolution (inference only)")
@click.option("--warmup", default=3, show_default=True, help="untimed calls after the first (cold) call")
@click.option("--iters", type=int, default=None, help="timed calls per row [default: 20, or unlimited with --time-budget]")
@click.option("--time-budget", type=float, default=None, help="seconds of timed calls per row")
@click.option("--threads", type=int, default=None, help="torch.set_num_threads for the run")
@click.option("--size", "input_size", default=None, help="network input, N or HxW [default: the model's own size]")
@click.option("--input-size", "input_size_alias", default=None, hidden=True)  # old spelling of --size
@click.option("--random-init", is_flag=True,
              help="always random init [default: cached weights when present, else random init; never downloads]")
@click.option("--weights", "weights_mode", type=click.Choice(["auto", "random"]), default=None, hidden=True)  # old: --random-init
@click.option("--no-e2e", is_flag=True, help="skip the end-to-end (preprocess + forward + postprocess) rows")
@click.option("--no-flops", is_flag=True, help="skip FLOP counting and the matmul peak")
@click.option("--json", "json_path", default=None, help="write the report as JSON to FILE ('-' for stdout)")
@click.option("--csv", "csv_path", default=None, help="write the report as CSV to FILE ('-' for stdout)")
@click.option("--compare", "baseline", default=None, type=click.Path(dir_okay=False),
              help=f"baseline report (JSON); exits {REGRESSION_EXIT} when a row regresses past --max-regression")
@click.option("--max-regression", default=0.10, show_default=True, help="allowed slow-down for --compare (0.10 = 10%)")
@click.option("--compare-stat", default="p50_ms", show_default=True, help="latency statistic --compare uses")
@click.option("--plot", "plot_path", default=None, help="draw latency and throughput vs batch size to FILE.png")
@click.option("--force", is_flag=True, help="overwrite the --json, --csv or --plot file if it exists")
@click.option("--optimize", is_flag=True,
              help="also search the fastest configuration whose output matches fp32 eager (precision, channels_last, "
                   "fuse, torch.compile modes, runtime backends): a row per candidate and the chosen one; cached")
@click.option("--optimize-compile", default="auto", show_default=True,
              help="torch.compile modes --optimize tries: auto (all on CUDA, none on CPU), on, off, or MODE[,MODE]")
@click.option("--quiet", "-q", is_flag=True, help="no table and no progress bar")
def bench_cmd(names: tuple[str, ...], task: str | None, device: str, batch_size: str, precision: str,
              backend: str | None, calibration: Path | None, parity_image: str | None, channels_last: bool, compile_: bool, compile_mode: str | None, fuse: bool, warmup: int,
              iters: int | None, time_budget: float | None, threads: int | None, input_size: str | None,
              input_size_alias: str | None, random_init: bool, weights_mode: str | None, no_e2e: bool, no_flops: bool, json_path: str | None, csv_path: str | None,
              baseline: str | None, max_regression: float, compare_stat: str, plot_path: str | None, force: bool,
              optimize: bool, optimize_compile: str, quiet: bool) -> None:
    """Benchmark NAMEs (or fnmatch patterns like 'resnet*', or --task T): forward latency p50/p90/p99,
    throughput, memory, MACs and achieved FLOP/s per batch size, plus end-to-end rows."""
    from zoo.bench.report import BenchReport, compare
    from zoo.bench.runner import bench
    from zoo.cli.bench_progress import RichBenchProgress
    from zoo.cli.bench_render import render_comparison, render_report
    from zoo.cli.output import console

    if not names and not task:
        raise click.UsageError("give model NAMEs or --task (e.g. 'zoo bench resnet50' or 'zoo bench --task detection')")
    if compile_mode is not None and not compile_:
        raise InputError("--compile-mode needs --compile (it picks how torch.compile runs)")
    if input_size is not None and input_size_alias is not None and input_size != input_size_alias:
        raise InputError("--size and --input-size (its old spelling) disagree: give one")
    input_size = input_size or input_size_alias
    if random_init and weights_mode == "auto":
        raise InputError("--random-init and --weights auto contradict each other: give one")
    weights = "random" if random_init or weights_mode == "random" else "auto"
    if "-" in (json_path, csv_path) and json_path == csv_path:
        raise InputError("--json - and --csv - cannot both write to stdout")
    for flag, path in (("--json", json_path), ("--csv", csv_path), ("--plot", plot_path)):
        _writable(flag, path, force)  # a typo'd folder or a file already there fails now, not after the whole run
    if plot_path:
        from zoo.bench.plot import check_plot_path

        check_plot_path(plot_path)
    if not max_regression >= 0:
        raise InputError(f"--max-regression must be >= 0 (0.10 means 10% slower fails), got {max_regression}")
    if optimize and calibration is not None:  # a stored choice that zoo.load(optimized=True) re-applies as it is
        raise InputError("--calibration is for the --precision/--backend rows: --optimize guards its reduced "
                         "precisions on the bundled photos")
    if optimize_compile != "auto" and not optimize:
        raise InputError("--optimize-compile needs --optimize (it picks the torch.compile modes the search tries)")
    if optimize:
        import torch

        from zoo.bench.optimize import compile_modes

        compile_modes(torch.device("cpu"), optimize_compile)  # a typo'd mode fails now, not after the run
    base = BenchReport.from_json(baseline) if baseline else None  # a bad baseline fails before any timing
    from zoo.bench.backends import parse_backends, parse_precisions

    precisions = parse_precisions(precision)  # one line for a typo, before any timing
    several = backend is not None or len(precisions or ()) > 1
    if not several and precisions == ("int8",):
        from zoo.runtimes import NO_INT8

        raise InputError(f"--precision int8 without --backend: {NO_INT8}")
    backends = ",".join(parse_backends(backend)) if backend is not None else None
    report = bench(list(names), batch_sizes=_ints(batch_size), device=device,
                   precision=precisions[0] if precisions and not several else "fp32",
                   backends=backends, precisions=precisions if several else None, parity_image=parity_image,
                   calibration=calibration,
                   channels_last=channels_last, compile=compile_, fuse=fuse, warmup=warmup, iters=iters,
                   time_budget=time_budget, threads=threads, input_size=_size(input_size), task=task,
                   e2e=not no_e2e, flops=not no_flops, weights=weights, compile_mode=compile_mode,
                   progress=None if quiet else RichBenchProgress())
    stdout_taken = "-" in (json_path, csv_path)
    if optimize:
        from zoo.bench.optimize import add_optimize_rows

        add_optimize_rows(report, _ints(batch_size), device, _size(input_size), compile=optimize_compile,
                          warmup=warmup, iters=iters or 20, weights=weights, e2e=not no_e2e, flops=not no_flops,
                          log=None if quiet else lambda m: click.echo(f"optimize: {m}", err=True))
    out = console(stderr=stdout_taken)
    if not quiet:
        render_report(report, out)
    for path, write in ((json_path, report.to_json), (csv_path, report.to_csv)):
        if path == "-":
            sys.stdout.write(write())
        elif path:
            write(Path(path))
            if not quiet:
                out.print(f"[dim]wrote {path}[/dim]")
    _keep_in_history(report, quiet)
    if plot_path:
        from zoo.bench.plot import plot_report

        plot_report(report, plot_path)
        if not quiet:
            out.print(f"[dim]wrote {plot_path}[/dim]")
    comp = None
    if base is not None:
        comp = compare(report, base, max_regression, compare_stat)
        render_comparison(comp, console(stderr=True) if stdout_taken or quiet else out)
    failed = [r for r in report.rows if not r.ok]
    if failed:  # said even with -q: a run with failed rows is not a success
        for r in failed:
            click.echo(f"error: {r.label()}: {r.error or r.status}", err=True)
        click.echo(f"error: {len(failed)} of {len(report.rows)} benchmark rows failed", err=True)
        sys.exit(FAILED_EXIT)
    if comp is not None and not comp.passed:
        sys.exit(REGRESSION_EXIT)


def _keep_in_history(report: object, quiet: bool) -> None:
    """Every run's report goes to ZOO_HOME/bench/ (what `zoo report` reads); failing to keep it is a warning."""
    from zoo.bench.history import save_to_history

    try:
        path = save_to_history(report)  # type: ignore[arg-type]
    except OSError as e:
        click.echo(f"warning: could not keep this run in the bench history ({e.strerror or e})", err=True)
        return
    if not quiet:
        click.echo(f"kept in the bench history: {path}", err=True)


def _writable(flag: str, path: str | None, force: bool) -> None:
    """An output file is not a folder, its folder exists and is writable, and it is new unless --force (checked
    before the run)."""
    if path is None or path == "-":
        return
    from zoo.fsutil import check_out_file, refuse_existing

    check_out_file(path, flag)
    if not force:
        refuse_existing([path])
