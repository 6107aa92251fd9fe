"""`zoo track NAME VIDEO|FOLDER`: detections or skeletons with track ids that stay with the same object."""

from __future__ import annotations

from pathlib import Path

import click

from zoo.cli.output import emit_json


@click.command("track")
@click.argument("name")
@click.argument("source")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="write the drawn frames here (a video for a video, images for a folder)")
@click.option("--force", is_flag=True, help="overwrite drawn frames already in --out (refused without)")
@click.option("--json", "as_json", is_flag=True, help="one JSON document on stdout: every frame's results")
@click.option("--conf", type=float, default=None, help="score threshold (default: the model's)")
@click.option("--every", type=int, default=1, show_default=True, help="use every N-th frame")
@click.option("--max-age", type=int, default=5, show_default=True, help="frames a track survives unmatched")
@click.option("--threshold", type=float, default=0.3, show_default=True,
              help="minimum IoU (or IoU/OKS mean for skeletons) to continue a track")
@click.option("--weights", type=click.Path(path_type=Path), help="a local weights file instead of the cache")
@click.option("--random-init", is_flag=True, help="run with random weights (smoke tests only)")
@click.option("--device", default="auto", show_default=True, help="auto (cuda when available), cpu, cuda, cuda:N")
def track_cmd(name: str, source: str, out_dir: Path | None, force: bool, as_json: bool, conf: float | None, every: int,
              max_age: int, threshold: float, weights: Path | None, random_init: bool, device: str) -> None:
    """Track objects or people through a video file or a folder of frames (sorted by name)."""
    import zoo
    from zoo.errors import InputError
    from zoo.track.run import track
    from zoo.track.tracker import TrackerConfig

    if every < 1 or max_age < 0:
        raise InputError("--every must be at least 1 and --max-age at least 0")
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"--threshold is an IoU in [0, 1], got {threshold}")
    from zoo.track.run import check_trackable, track_inputs

    check_trackable(zoo.get_spec(name))
    files = track_inputs(source, every)  # a missing, unreadable or empty source fails before the model loads
    if out_dir is not None and not force:
        from zoo.fsutil import refuse_existing
        from zoo.track.run import track_outputs

        refuse_existing(track_outputs(files, source, out_dir, zoo.get_spec(name).name).values())
    model = zoo.load(name, pretrained=not random_init, weights=weights, device=device)
    if out_dir is not None:
        from zoo.fsutil import make_out_dir

        make_out_dir(out_dir, "--out")  # one level: a typo'd parent is refused, not created
    opts = {} if conf is None else {"conf": conf}
    run = track(model, source, out_dir, every, TrackerConfig(max_age=max_age, threshold=threshold),
                force=force, **opts)
    if as_json:
        emit_json({"model": model.spec.name, "weights": model.weights_source, "source": str(source),
                   "frames": [r.to_json() for r in run.results], "tracks": run.tracks,
                   "fps": round(run.fps, 3), "association_share": round(run.association_seconds / run.seconds, 5),
                   "output": run.output})
        return
    click.echo(f"{source}: {len(run.results)} frames, {run.tracks} tracks, {run.fps:.2f} frames/s "
               f"(association {1e3 * run.association_seconds / len(run.results):.2f} ms/frame)", err=True)
    if run.output:
        click.echo(f"wrote {run.output}", err=True)
