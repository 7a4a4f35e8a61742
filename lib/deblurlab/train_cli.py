"""Train a registry model from the command line — one process, or many under ``torchrun``.

Data: a folder with ``blur/`` and ``sharp/`` sub-folders of paired images (random aligned crops,
rot/flip augmented), or by default the embedded synthetic pairs. Checkpoints, history and the
final weights go to ``--checkpoint-dir`` (default ``build/checkpoints/train/<model>``); running
the same command again resumes there. ``--batch-size`` is the *global* batch: under torchrun each
of the ``WORLD_SIZE`` processes takes ``batch_size / WORLD_SIZE`` items of every step.

Examples::

    python scripts/train.py --model residual_cnn --steps 200
    torchrun --standalone --nproc_per_node=4 scripts/train.py --model nafnet \\
        --model-args '{"img_channel": 1, "width": 16}' --data /data/midnet-sem --batch-size 16
    python -m deblurlab.train_cli --help
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

from . import distributed
from .config import build_dir
from .losses import charbonnier, l1_loss, mse_loss
from .models import available_models, build_model, count_parameters
from .train import fit, save_weights

LOSSES = {"l1": l1_loss, "mse": mse_loss, "charbonnier": charbonnier}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help=f"registry name: {', '.join(available_models())}")
    p.add_argument("--model-args", default="{}", type=json.loads, metavar="JSON",
                   help='constructor keyword arguments as JSON, e.g. \'{"width": 16}\'')
    data = p.add_argument_group("data")
    data.add_argument("--data", type=Path, metavar="DIR",
                      help="folder with blur/ and sharp/ sub-folders (default: synthetic pairs)")
    data.add_argument("--synthetic", type=int, default=256, metavar="N",
                      help="number of synthetic pairs when --data is not given")
    data.add_argument("--crop", type=int, default=64, help="training crop size (pixels)")
    data.add_argument("--crops-per-image", type=int, default=8,
                      help="random crops per image and epoch (--data only)")
    data.add_argument("--channels", type=int, default=1, choices=[1, 3],
                      help="1 = grey, 3 = RGB; must match the model's input channels")
    train = p.add_argument_group("training")
    train.add_argument("--steps", type=int, default=1000)
    train.add_argument("--batch-size", type=int, default=8, help="global batch (all processes)")
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--optimizer", default="adam", choices=["adam", "adamw", "sgd"])
    train.add_argument("--scheduler", default="cosine", choices=["none", "cosine"])
    train.add_argument("--loss", default="l1", choices=sorted(LOSSES))
    train.add_argument("--grad-clip", type=float, default=None)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    train.add_argument("--sync-bn", action="store_true",
                       help="SyncBatchNorm across processes (CUDA only)")
    train.add_argument("--cpu", action="store_true",
                       help="train on CPU (gloo) even when CUDA is available")
    train.add_argument("--num-workers", type=int, default=0, help="data-loader workers per process")
    out = p.add_argument_group("output")
    out.add_argument("--checkpoint-dir", type=Path, default=None,
                     help="default: build/checkpoints/train/<model>")
    out.add_argument("--checkpoint-every", type=int, default=100)
    out.add_argument("--no-resume", action="store_true", help="start afresh, overwriting last.pt")
    out.add_argument("--log-every", type=int, default=10)
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def make_data(args: argparse.Namespace) -> Any:
    """The training set the arguments describe (every item a ``{"blur", "sharp"}`` dict)."""
    if args.data is None:
        from .simulate import SyntheticPairs

        return SyntheticPairs(args.synthetic, crop=args.crop, seed=args.seed,
                              channels=args.channels)
    from .datasets import PairedFolder, RandomCrops

    base = PairedFolder(args.data / "blur", args.data / "sharp", grey=args.channels == 1)
    return RandomCrops(base, args.crop, n_per_image=args.crops_per_image, seed=args.seed,
                       channels=args.channels)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, train, write ``<checkpoint-dir>/<model>.pt`` on rank 0; exit code 0."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not isinstance(args.model_args, dict):
        parser.error(f"--model-args must be a JSON object, got {args.model_args!r}")
    ctx = distributed.init_from_env(device="cpu" if args.cpu else None)
    try:
        torch.manual_seed(args.seed)  # DDP copies rank 0's initial weights to the others anyway
        model = build_model(args.model, **args.model_args)
        data = make_data(args)
        folder = args.checkpoint_dir or build_dir("checkpoints", "train", args.model)
        if ctx.is_main:
            print(f"{args.model}: {count_parameters(model):,} parameters; {len(data)} training "
                  f"items; {ctx.world_size} process(es) on {ctx.device} "
                  f"({ctx.backend or 'single process'}); global batch {args.batch_size} = "
                  f"{args.batch_size // max(ctx.world_size, 1)} per process", flush=True)
        history = fit(
            model, data, losses={args.loss: LOSSES[args.loss]}, steps=args.steps,
            batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
            scheduler=None if args.scheduler == "none" else args.scheduler, seed=args.seed,
            device=ctx.device, amp=args.amp, sync_bn=args.sync_bn, grad_clip=args.grad_clip,
            checkpoint_dir=folder, checkpoint_every=args.checkpoint_every,
            resume=not args.no_resume, log_every=args.log_every,
            progress=not args.no_progress, num_workers=args.num_workers)
        if ctx.is_main:
            weights = save_weights(model, Path(folder) / f"{args.model}.pt")
            last = history.rows[-1] if history.rows else {}
            print(f"done: step {last.get('step', 0)}, loss {last.get('loss', float('nan')):.4g}; "
                  f"weights {weights}; checkpoint and history in {folder}", flush=True)
        distributed.barrier()
    finally:
        distributed.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
