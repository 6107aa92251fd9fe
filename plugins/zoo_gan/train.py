"""DCGAN training: the PyTorch DCGAN tutorial's algorithm on a folder of images, on one process or, under
torchrun, on several with DistributedDataParallel (gloo on CPU, nccl on GPU) and a DistributedSampler.

Per step (tutorial, "Training"): D is updated on a real batch (label 1) and on G(z) detached (label 0), BCE;
then G is updated to make D call G(z) real (label 1, the non-saturating loss). Adam lr 2e-4, betas (0.5, 0.999)
for both; conv weights N(0, 0.02), BatchNorm weight N(1, 0.02). Images: shorter side resized to 64, centre crop,
scaled to [-1, 1].

Output folder (rank 0 alone writes):
  generator.safetensors       the zoo's dcgan-64 weights layout: zoo.load("dcgan-64", weights=...) / zoo import take it
  discriminator.safetensors   the tutorial's netD layout
  optimizer.safetensors       Adam states of G and D, the step/epoch counters and the RNG state (to resume)
  samples/step_NNNNNNN.png    grids from a fixed batch of latents (seed 0), generator in eval mode
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zoo.devices import resolve_device
from zoo.errors import InputError, first_line
from zoo.fsutil import atomic_path
from zoo.images import IMAGE_SUFFIXES

LR = 2e-4  # tutorial: lr = 0.0002
BETA1 = 0.5  # tutorial: beta1 = 0.5 (Adam's second beta stays 0.999)
IMAGE_SIZE = 64
GENERATOR_FILE = "generator.safetensors"
DISCRIMINATOR_FILE = "discriminator.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
SAMPLE_LATENTS = 64  # the tutorial's fixed_noise: 64 latents


@dataclass
class TrainConfig:
    data: Path
    out: Path
    epochs: int = 5
    batch_size: int = 128  # tutorial
    device: str = "auto"  # zoo.devices.resolve_device: cuda when available
    workers: int = 2
    seed: int = 0
    sample_every: int = 500  # steps between sample grids (and one at the end of every epoch)
    resume: Path | None = None
    weights: Path | None = None  # start G from these weights (a fresh D)
    force: bool = False  # start over in an `out` folder that already holds files
    model: str = "dcgan-64"


@dataclass
class StepLog:
    step: int
    epoch: int
    loss_d: float
    loss_g: float
    d_x: float  # mean D(x) on the real batch
    d_g_z: float  # mean D(G(z)) before the G update


# ------------------------------------------------------------------ data


def image_files(folder: Path, warn: Callable[[str], None] | None = None) -> list[Path]:
    """Every readable image under `folder` (recursively, sorted); a file with an image extension that Pillow
    cannot open is skipped with a warning (as `zoo predict` reports it), not a DataLoader worker's traceback
    later. An empty or image-less folder is an InputError."""
    from PIL import Image

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"--data {folder}: no such folder")
    files = []
    for p in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
        try:
            with Image.open(p):  # the header only: cheap for thousands of files
                files.append(p)
        except Exception as e:  # Pillow raises several types for junk; each is one warning
            if warn is not None:
                warn(f"{p}: not a readable image ({first_line(e)}); skipped")
    if not files:
        raise InputError(f"--data {folder}: the folder holds no readable images "
                         f"({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def check_config(cfg: TrainConfig) -> None:
    """Counts in range and the output folder free, before anything is created."""
    for flag, value, low in (("--epochs", cfg.epochs, 1), ("--batch-size", cfg.batch_size, 1),
                             ("--workers", cfg.workers, 0), ("--sample-every", cfg.sample_every, 0)):
        if value < low:
            raise InputError(f"{flag} must be at least {low}, got {value}")
    out = Path(cfg.out)
    if cfg.resume is None and not cfg.force and out.is_dir() and any(out.iterdir()):
        earlier = (out / OPTIMIZER_FILE).is_file()
        what = "holds an earlier run" if earlier else "is not empty"
        hint = f"--resume {out} to continue it, " if earlier else ""
        raise InputError(f"--out {out} {what}: {hint}--force to start a new run there, or another --out")


class ImageFolder(torch.utils.data.Dataset):
    """Images -> 3x64x64 in [-1, 1]: shorter side to 64 (bilinear, antialiased), centre crop (tutorial's
    Resize(64), CenterCrop(64), ToTensor, Normalize(0.5, 0.5))."""

    def __init__(self, files: list[Path], size: int = IMAGE_SIZE):
        self.files = files
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        from PIL import Image

        with Image.open(self.files[i]) as im:
            im = im.convert("RGB")
            w, h = im.size
            s = self.size / min(w, h)
            im = im.resize((max(self.size, round(w * s)), max(self.size, round(h * s))), Image.BILINEAR)
            w, h = im.size
            left, top = (w - self.size) // 2, (h - self.size) // 2
            arr = np.asarray(im.crop((left, top, left + self.size, top + self.size)), dtype=np.float32)
        return torch.from_numpy(arr).permute(2, 0, 1) / 127.5 - 1.0


# ------------------------------------------------------------------ checkpoints


def optimizer_tensors(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state as flat tensors + JSON-able param groups (safetensors holds tensors only)."""
    sd = opt.state_dict()
    tensors = {f"{prefix}.{pid}.{k}": v for pid, st in sd["state"].items() for k, v in st.items()
               if isinstance(v, torch.Tensor)}
    return tensors, {"param_groups": sd["param_groups"]}


def optimizer_state(tensors: dict[str, torch.Tensor], groups: dict[str, Any], prefix: str) -> dict[str, Any]:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, v in tensors.items():
        if key.startswith(prefix + "."):
            pid, name = key[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(pid), {})[name] = v
    return {"state": state, "param_groups": groups["param_groups"]}


def save_checkpoint(out: Path, g: nn.Module, d: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                    step: int, epoch: int, cfg: TrainConfig) -> None:
    """Three files, each written atomically (generator last-but-one, counters last: a crash leaves the previous set
    or a complete new one for every file that matters to --resume)."""
    from zoo.weights import save_safetensors

    meta = {"model": cfg.model, "step": str(step), "epoch": str(epoch)}
    save_safetensors(g.state_dict(), out / GENERATOR_FILE, metadata=meta)
    save_safetensors(d.state_dict(), out / DISCRIMINATOR_FILE, metadata=meta)
    tg, groups_g = optimizer_tensors(opt_g, "G")
    td, groups_d = optimizer_tensors(opt_d, "D")
    rng = {"rng.cpu": torch.get_rng_state()}
    save_safetensors({**tg, **td, **rng}, out / OPTIMIZER_FILE,
                     metadata={**meta, "groups_G": json.dumps(groups_g), "groups_D": json.dumps(groups_d),
                               "config": json.dumps({k: str(v) for k, v in asdict(cfg).items()})})


@dataclass
class Checkpoint:
    generator: dict[str, torch.Tensor]
    discriminator: dict[str, torch.Tensor]
    optimizer: dict[str, torch.Tensor]
    metadata: dict[str, str]

    @property
    def step(self) -> int:
        return int(self.metadata["step"])

    @property
    def epoch(self) -> int:
        return int(self.metadata["epoch"])


def load_checkpoint(path: Path) -> Checkpoint:
    """A training folder (or any of its three files) -> its tensors; missing pieces are an InputError."""
    from safetensors import safe_open

    from zoo.weights import read_safetensors

    path = Path(path)
    folder = path if path.is_dir() else path.parent
    files = [folder / GENERATOR_FILE, folder / DISCRIMINATOR_FILE, folder / OPTIMIZER_FILE]
    missing = [f.name for f in files if not f.is_file()]
    if not path.exists() or missing:
        raise InputError(f"--resume {path}: no training checkpoint there (missing {', '.join(missing) or path.name})")
    with safe_open(str(files[2]), framework="pt") as fh:
        meta = dict(fh.metadata() or {})
    if "step" not in meta:
        raise InputError(f"--resume {path}: {OPTIMIZER_FILE} has no step counter (not written by zoo train)")
    return Checkpoint(read_safetensors(files[0]), read_safetensors(files[1]), read_safetensors(files[2]), meta)


# ------------------------------------------------------------------ training


def train_dcgan(spec: Any, request: Any, progress: bool = True) -> dict[str, Any]:
    """The trainer the family registers for `zoo train` (zoo.training.TrainRequest -> TrainConfig)."""
    return train(TrainConfig(**asdict(request), model=spec.name), progress=progress)


def train(cfg: TrainConfig, log: Callable[[StepLog], None] | None = None,
          progress: bool = True) -> dict[str, Any]:
    """Train (or resume) and return a summary; under torchrun every rank calls this, rank 0 writes."""
    import zoo
    from zoo.eval.dist import setup
    from zoo_gan.dcgan import DCGANDiscriminator, weights_init

    check_config(cfg)  # bad input is reported before anything is created
    files = image_files(cfg.data, _warn)
    ckpt = load_checkpoint(cfg.resume) if cfg.resume is not None else None
    if ckpt is not None and ckpt.epoch >= cfg.epochs:
        raise InputError(f"--resume {cfg.resume}: the run has {ckpt.epoch} epochs already; give --epochs above "
                         f"{ckpt.epoch} to train more")
    dist, device = setup(str(resolve_device(cfg.device)), auto=str(cfg.device).strip().lower() in ("", "auto"))
    try:
        dev = torch.device(device)
        torch.manual_seed(cfg.seed + dist.rank)
        if cfg.weights is not None and ckpt is None:
            model = zoo.load(cfg.model, weights=cfg.weights, device=dev)
        else:
            model = zoo.build(cfg.model, device=dev)
        g = model.net
        d = DCGANDiscriminator(model.ndf, sigmoid=False)  # BCE on logits: the tutorial's Sigmoid + BCELoss, fused
        d.apply(weights_init)
        d = d.to(dev)
        opt_g = torch.optim.Adam(g.parameters(), lr=LR, betas=(BETA1, 0.999))
        opt_d = torch.optim.Adam(d.parameters(), lr=LR, betas=(BETA1, 0.999))
        step = epoch0 = 0
        if ckpt is not None:
            g.load_state_dict(ckpt.generator)
            d.load_state_dict(ckpt.discriminator)
            opt_g.load_state_dict(optimizer_state(ckpt.optimizer, json.loads(ckpt.metadata["groups_G"]), "G"))
            opt_d.load_state_dict(optimizer_state(ckpt.optimizer, json.loads(ckpt.metadata["groups_D"]), "D"))
            if "rng.cpu" in ckpt.optimizer and dist.world_size == 1:
                torch.set_rng_state(ckpt.optimizer["rng.cpu"])
            step, epoch0 = ckpt.step, ckpt.epoch
        g.train()
        d.train()
        g_run, d_run = g, d
        if dist.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [dev.index] if dev.type == "cuda" else None
            g_run, d_run = DDP(g, device_ids=ids), DDP(d, device_ids=ids)
        data = ImageFolder(files)
        sampler = torch.utils.data.DistributedSampler(data, num_replicas=dist.world_size, rank=dist.rank,
                                                      shuffle=True, seed=cfg.seed, drop_last=False)
        loader = torch.utils.data.DataLoader(data, batch_size=cfg.batch_size, sampler=sampler,
                                             num_workers=cfg.workers, drop_last=False,
                                             persistent_workers=cfg.workers > 0)
        fixed = torch.randn(SAMPLE_LATENTS, model.latent_dim, generator=torch.Generator().manual_seed(0)).to(dev)
        if dist.main:
            (cfg.out / "samples").mkdir(parents=True, exist_ok=True)
        bar = _Progress(progress and dist.main, total=(cfg.epochs - epoch0) * len(loader))
        t0, seen, last, step0 = time.perf_counter(), 0, None, step
        epoch = epoch0
        try:
            for epoch in range(epoch0, cfg.epochs):
                sampler.set_epoch(epoch)
                for real in loader:
                    real = real.to(dev, non_blocking=True)
                    last = _step(g_run, d_run, opt_g, opt_d, real, model.latent_dim, dev, d)
                    step += 1
                    seen += real.shape[0] * dist.world_size
                    log_row = StepLog(step, epoch, *last)
                    if log is not None and dist.main:
                        log(log_row)
                    bar.update(log_row)
                    if dist.main and cfg.sample_every and step % cfg.sample_every == 0:
                        _sample(g, fixed, cfg.out, step)
                if dist.main:
                    _sample(g, fixed, cfg.out, step)
                    save_checkpoint(cfg.out, g, d, opt_g, opt_d, step, epoch + 1, cfg)
        except KeyboardInterrupt:  # Ctrl-C: keep what was learnt; --resume redoes the unfinished epoch
            bar.close()
            if dist.main and step > step0:
                save_checkpoint(cfg.out, g, d, opt_g, opt_d, step, epoch, cfg)
                _warn(f"interrupted at step {step} (epoch {epoch + 1}): checkpoint saved; continue with "
                      f"--resume {cfg.out}")
            raise
        bar.close()
        elapsed = time.perf_counter() - t0
        return {"steps": step, "steps_run": step - step0, "epochs": cfg.epochs, "epochs_run": cfg.epochs - epoch0,
                "from_epoch": epoch0, "images_per_s": seen / elapsed if elapsed > 0 and seen else math.nan,
                "world_size": dist.world_size, "out": str(cfg.out), "weights": str(cfg.out / GENERATOR_FILE),
                "last": None if last is None else dict(zip(("loss_d", "loss_g", "d_x", "d_g_z"), last))}
    finally:
        dist.close()


def _warn(msg: str) -> None:
    import os
    import sys

    if os.environ.get("RANK", "0") == "0":  # under torchrun: said once, by rank 0
        print(f"warning: {msg}", file=sys.stderr)


def _step(g: nn.Module, d: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
          real: torch.Tensor, nz: int, dev: torch.device, d_module: nn.Module) -> tuple[float, float, float, float]:
    """One tutorial iteration: (1) maximise log D(x) + log(1 - D(G(z))), (2) maximise log D(G(z))."""
    n = real.shape[0]
    ones = torch.ones(n, device=dev)
    zeros = torch.zeros(n, device=dev)
    opt_d.zero_grad(set_to_none=True)
    sync = getattr(d, "no_sync", None)
    if sync is not None:  # DDP: accumulate the real and fake backward passes, all-reduce once
        with sync():
            out_real = d(real)
            loss_real = F.binary_cross_entropy_with_logits(out_real, ones)
            loss_real.backward()
    else:
        out_real = d(real)
        loss_real = F.binary_cross_entropy_with_logits(out_real, ones)
        loss_real.backward()
    fake = g(torch.randn(n, nz, device=dev))
    out_fake = d(fake.detach())
    loss_fake = F.binary_cross_entropy_with_logits(out_fake, zeros)
    loss_fake.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    out = d(fake)
    loss_g = F.binary_cross_entropy_with_logits(out, ones)
    loss_g.backward()
    opt_g.step()
    return (float((loss_real + loss_fake).detach()), float(loss_g.detach()),
            float(torch.sigmoid(out_real.detach()).mean()), float(torch.sigmoid(out_fake.detach()).mean()))


def _sample(g: nn.Module, fixed: torch.Tensor, out: Path, step: int) -> Path:
    from PIL import Image

    from zoo.tasks.generation import image_grid, to_uint8

    was = g.training
    g.eval()
    with torch.inference_mode():
        imgs = to_uint8(g(fixed))
    g.train(was)
    path = out / "samples" / f"step_{step:07d}.png"
    with atomic_path(path) as tmp:
        Image.fromarray(image_grid(imgs, cols=8)).save(tmp)
    return path


def discriminator_loss_on_fakes(g: nn.Module, d: nn.Module, n: int = 64, seed: int = 1234) -> float:
    """BCE of D calling fresh G samples fake (label 0): a held-out measure of how well D separates them."""
    z = torch.randn(n, getattr(g, "nz", 100), generator=torch.Generator().manual_seed(seed))
    was_g, was_d = g.training, d.training
    g.eval()
    d.eval()
    with torch.inference_mode():
        logits = d(g(z))
        loss = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))
    g.train(was_g)
    d.train(was_d)
    return float(loss)


class _Progress:
    """A rich progress bar on stderr with both losses (rank 0 only)."""

    def __init__(self, on: bool, total: int):
        self.bar = None
        if not on:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from zoo.cli.output import console

        self.bar = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            TextColumn("{task.description}"), console=console(stderr=True), transient=False)
        self.task = self.bar.add_task("", total=total)
        self.bar.start()

    def update(self, row: StepLog) -> None:
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=(
                f"epoch {row.epoch + 1} step {row.step} loss_D {row.loss_d:.3f} loss_G {row.loss_g:.3f} "
                f"D(x) {row.d_x:.2f} D(G(z)) {row.d_g_z:.2f}"))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
