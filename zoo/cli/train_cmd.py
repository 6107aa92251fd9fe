"""`zoo train NAME --data FOLDER`: runs the trainer a family registers for NAME (zoo.training); imports torch
only when a trainer runs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("train")
@click.argument("name")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path), help="folder of training images (searched recursively)")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where weights, optimiser state and sample grids go (default: runs/NAME, or the --resume folder)")
@click.option("--epochs", type=int, default=5, show_default=True, help="total epochs (a resumed run continues up to this)")
@click.option("--batch-size", type=int, default=128, show_default=True, help="images per step per process")
@click.option("--device", default="auto", show_default=True,
              help="auto (cuda when available), cpu, cuda, cuda:N (under torchrun: cuda:LOCAL_RANK)")
@click.option("--resume", type=click.Path(path_type=Path), default=None, help="a training folder written by zoo train")
@click.option("--weights", type=click.Path(path_type=Path), default=None, help="start the generator from these weights")
@click.option("--workers", type=int, default=2, show_default=True, help="DataLoader worker processes")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--sample-every", type=int, default=500, show_default=True, help="steps between sample grids (0: only per epoch)")
@click.option("--force", is_flag=True, help="start a new run in an --out folder that already holds one")
@click.option("--json", "as_json", is_flag=True, help="print a JSON summary on stdout")
def train_cmd(name: str, data: Path, out: Path | None, epochs: int, batch_size: int, device: str, resume: Path | None,
              weights: Path | None, workers: int, seed: int, sample_every: int, force: bool, as_json: bool) -> None:
    """Train model NAME on a folder of data with the trainer its family registers (dcgan-64: the PyTorch DCGAN
    tutorial's algorithm). Under `torchrun --nproc_per_node N zoo train ...` trainers that support it use
    DistributedDataParallel; rank 0 writes."""
    from zoo.cli.output import emit_json
    from zoo.training import TrainRequest, trainer_for

    spec, trainer = trainer_for(name)  # unknown or untrainable NAME: one line naming the trainable models
    request = TrainRequest(data=data, out=out or (resume if resume is not None and resume.is_dir() else Path("runs") / spec.name),
                           epochs=epochs, batch_size=batch_size, device=device, workers=workers, seed=seed,
                           sample_every=sample_every, resume=resume, weights=weights, force=force)
    summary = trainer(spec, request, not as_json)
    if summary["world_size"] > 1:
        import os

        if os.environ.get("RANK", "0") != "0":
            return
    if as_json:
        emit_json(summary)
    else:
        run = summary.get("steps_run", summary["steps"])
        total = f" ({summary['steps']} in all)" if run != summary["steps"] else ""
        click.echo(f"trained {spec.name}: {run} steps{total}, {summary['images_per_s']:.1f} images/s "
                   f"({summary['world_size']} process(es)); weights in {summary.get('weights', summary['out'])}", err=True)
