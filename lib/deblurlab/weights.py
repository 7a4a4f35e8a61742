"""Registry of pretrained weights: where each file comes from, its checksum, licence and the input
preprocessing it expects — and one way to find it.

:func:`locate` looks in ``DEBLURLAB_WEIGHTS``, then in the torch hub cache
(``torch.hub.get_dir()/checkpoints``), then downloads into the hub cache when allowed
(``allow_download=True`` or ``DEBLURLAB_ALLOW_DOWNLOAD=1``). Every file is checksum-verified.
A missing file is a :class:`WeightsNotFoundError` that names the file, the folders searched and
where to put it: **there is never a silent fallback to random weights.**

Preprocessing schema (``WeightsEntry.preprocessing``), applied to an RGB batch in [0, 1]::

    x * scale + offset, then (x - mean) / std   (mean/std per channel; None = skip)

Example
-------
>>> [w.name for w in list_weights()][:2]
['vgg19-imagenet-conv1_1-conv3_4', 'lpips-v0.1-vgg-lin']
>>> sd = load_state_dict("vgg19-imagenet-conv1_1-conv3_4")  # doctest: +SKIP
>>> sd["features.0.weight"].shape  # doctest: +SKIP
torch.Size([64, 3, 3, 3])
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deblurlab import config
from deblurlab.fetch import ChecksumError, DownloadError, download, verify

__all__ = [
    "ALLOW_DOWNLOAD_ENV",
    "UnknownWeightsError",
    "WeightsEntry",
    "WeightsNotFoundError",
    "entry",
    "hub_checkpoints_dir",
    "list_weights",
    "load_pretrained",
    "load_state_dict",
    "locate",
]

ALLOW_DOWNLOAD_ENV = "DEBLURLAB_ALLOW_DOWNLOAD"



def _imagenet() -> dict[str, Any]:
    """torchvision's ImageNet normalisation on [0, 1] input (a fresh dict per entry)."""
    return {"input": "RGB", "scale": 1.0, "offset": 0.0,
            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


class WeightsNotFoundError(FileNotFoundError):
    """A weights file is in none of the searched places (message says where to put it)."""


class UnknownWeightsError(LookupError):
    """No registry entry has this name (message lists the valid names)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class WeightsEntry:
    """One pretrained weights file.

    Attributes
    ----------
    name : str
        Registry key.
    filename : str
        File name looked for in ``DEBLURLAB_WEIGHTS`` and the hub cache.
    url : str or None
        Direct download URL; ``None`` when no direct file URL exists (``notes`` says why).
    sha256 : str or None
        Full hex digest, when known.
    licence : str
        Licence of the weights.
    preprocessing : dict
        ``input`` (channel order), ``scale``, ``offset``, ``mean``, ``std`` — see module doc.
    notes : str
        Provenance and caveats.
    sha256_prefix : str or None
        Leading hex digits of the sha256 when only those are published (torchvision file names).
    state_dict_key : str or None
        Key under which the file keeps its state dict (``"params"`` for BasicSR checkpoints such
        as NAFNet, HINet and Restormer); ``None`` when the file is the state dict itself.
    """

    name: str
    filename: str
    url: str | None
    sha256: str | None
    licence: str
    preprocessing: dict[str, Any]
    notes: str
    sha256_prefix: str | None = None
    state_dict_key: str | None = None

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """Map an RGB batch ``(N, 3, H, W)`` in [0, 1] to what these weights expect.

        >>> e = entry("vgg19-imagenet-conv1_1-conv3_4")
        >>> [round(v, 3) for v in e.preprocess(torch.full((1, 3, 1, 1), 0.5)).flatten().tolist()]
        [3.82, 10.721, 23.561]
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"{self.name}: expected an RGB batch (N, 3, H, W), got {tuple(images.shape)}")
        p = self.preprocessing
        x = images * p.get("scale", 1.0) + p.get("offset", 0.0)
        if p.get("mean") is not None:
            x = x - images.new_tensor(p["mean"]).view(1, 3, 1, 1)
        if p.get("std") is not None:
            x = x / images.new_tensor(p["std"]).view(1, 3, 1, 1)
        return x

    @property
    def input_gain(self) -> float:
        """How much these weights amplify a [0, 1] image before the first layer, relative to
        torchvision's ImageNet convention ``(x − mean) / std`` (std ≈ 0.226).

        1 for torchvision files; 255 · 0.226 ≈ 57.6 for the Caffe/Keras-origin VGG19, which takes
        0..255 input. Feature maps (and an MSE on them) scale with it, so a loss weight tuned
        with one file means something else with the other — see
        :class:`deblurlab.losses.PerceptualLoss`.

        >>> round(entry("vgg19-imagenet-conv1_1-conv3_4").input_gain, 1)
        57.6
        """
        p = self.preprocessing
        gain = p.get("scale", 1.0) / (float(np.mean(p["std"])) if p.get("std") else 1.0)
        return gain * float(np.mean(TORCHVISION_STD))


#: torchvision's ImageNet normalisation std (the convention most published perceptual-loss
#: weights, e.g. paper 000's α = 0.3, were tuned with).
TORCHVISION_STD = (0.229, 0.224, 0.225)

_ENTRIES = (
    WeightsEntry(
        name="vgg19-imagenet-conv1_1-conv3_4",
        filename="vgg19-imagenet-conv1_1-conv3_4.pth",
        url=None,
        sha256="fe24aa2ba6d0a332ec9b3cdaa018dd6c3e33d4e41054a5672fb91019d26b2ddd",
        licence="MIT",
        preprocessing={"input": "RGB", "scale": 255.0, "offset": 0.0,
                       "mean": [123.68, 116.779, 103.939], "std": None},
        notes="ImageNet VGG19 conv1_1 … conv3_4 as a state dict with torchvision vgg19().features "
              "keys (features.0 … features.16). Converted from the Oxford/Caffe VGG19 published "
              "with Keras via TensorFlow.js: github.com/DavidCai1993/vgg19-tensorflowjs-model "
              "(commit 08d09052bc6258d3abdfa341850122fc4b746db6, weight groups 1-8), conv1_1 "
              "flipped from BGR to RGB. url is None: upstream holds TF.js weight shards, not this "
              "torch file; the project's reference weights folder has it.",
    ),
    WeightsEntry(
        name="lpips-v0.1-vgg-lin",
        filename="lpips-v0.1-vgg-lin.pth",
        url="https://raw.githubusercontent.com/richzhang/PerceptualSimilarity/master/lpips/weights/v0.1/vgg.pth",
        sha256="a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868",
        licence="BSD-2-Clause",
        # LPIPS maps [0, 1] to [-1, 1], then its ScalingLayer: (x - shift) / scale
        preprocessing={"input": "RGB", "scale": 2.0, "offset": -1.0,
                       "mean": [-0.030, -0.088, -0.188], "std": [0.458, 0.448, 0.450]},
        notes="LPIPS v0.1 linear heads lin0 … lin4 for the VGG16 variant; the checksum is of "
              "lpips/weights/v0.1/vgg.pth in PyPI lpips==0.1.4 (the GitHub URL is expected to "
              "serve the same bytes; verification rejects it otherwise). Needs the VGG16 "
              "backbone 'vgg16-torchvision'.",
    ),
    WeightsEntry(
        name="dists-alpha-beta",
        filename="dists-alpha-beta.pt",
        url=None,
        sha256="f5e65c96230b7f6ca995691647d482237e4cab8a50c5c4a5784f219ef0748218",
        licence="MIT",
        preprocessing=_imagenet(),
        notes="DISTS alpha/beta weights (1x1475x1x1 each). No direct file URL: the file is "
              "DISTS_pytorch/weights.pt inside PyPI dists-pytorch==0.1 (`pip download "
              "dists-pytorch==0.1 --no-deps`, unpack, copy it here as dists-alpha-beta.pt). "
              "Needs the VGG16 backbone 'vgg16-torchvision'.",
    ),
    WeightsEntry(
        name="vgg19-torchvision",
        filename="vgg19-dcbb9e9d.pth",
        url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
        sha256=None,
        sha256_prefix="dcbb9e9d",
        licence="BSD-3-Clause (torchvision)",
        preprocessing=_imagenet(),
        notes="Full torchvision VGG19 (IMAGENET1K_V1). Only the sha256 prefix in the file name "
              "is known, so only the prefix is verified.",
    ),
    WeightsEntry(
        name="vgg16-torchvision",
        filename="vgg16-397923af.pth",
        url="https://download.pytorch.org/models/vgg16-397923af.pth",
        sha256=None,
        sha256_prefix="397923af",
        licence="BSD-3-Clause (torchvision)",
        preprocessing=_imagenet(),
        notes="Full torchvision VGG16 (IMAGENET1K_V1), the LPIPS/DISTS backbone. Only the sha256 "
              "prefix in the file name is known, so only the prefix is verified.",
    ),
    WeightsEntry(
        name="nafnet-gopro-width32",
        filename="NAFNet-GoPro-width32.pth",
        url=None,
        sha256=None,
        licence="MIT",
        preprocessing={"input": "RGB", "scale": 1.0, "offset": 0.0, "mean": None, "std": None},
        notes="Official NAFNet width-32 GoPro deblurring checkpoint (megvii-research/NAFNet, "
              "README 'Results and Pre-trained Models', a Google Drive link: no direct file URL "
              "and no published checksum). State dict under 'params'; build "
              "NAFNet(img_channel=3, width=32, enc_blk_nums=(1, 1, 1, 28), middle_blk_num=1, "
              "dec_blk_nums=(1, 1, 1, 1)). Loaded strictly: a file that does not fit fails.",
        state_dict_key="params",
    ),
    WeightsEntry(
        name="hinet-gopro",
        filename="HINet-GoPro.pth",
        url=None,
        sha256=None,
        licence="MIT",
        preprocessing={"input": "RGB", "scale": 1.0, "offset": 0.0, "mean": None, "std": None},
        notes="Official HINet GoPro checkpoint (megvii-model/HINet, README 'Pretrained models', "
              "a Google Drive link: no direct file URL and no published checksum). State dict "
              "under 'params'; build HINet(wf=64, hin_position_left=3, hin_position_right=4) "
              "(the GoPro option files; the class default 0..4 does not fit it).",
        state_dict_key="params",
    ),
    WeightsEntry(
        name="restormer-motion-deblurring",
        filename="motion_deblurring.pth",
        url="https://github.com/swz30/Restormer/releases/download/v1.0/motion_deblurring.pth",
        sha256=None,
        licence="see the upstream repository swz30/Restormer (not redistributed here)",
        preprocessing={"input": "RGB", "scale": 1.0, "offset": 0.0, "mean": None, "std": None},
        notes="Official Restormer motion-deblurring (GoPro) checkpoint. No checksum is "
              "published, so deblurlab does not download it: fetch it yourself from the url. "
              "State dict under 'params'; build Restormer() with the motion-deblurring config "
              "(dim 48, blocks [4, 6, 6, 8], refinement 4, heads [1, 2, 4, 8], bias False).",
        state_dict_key="params",
    ),
)
_REGISTRY = {e.name: e for e in _ENTRIES}

# (path, size, mtime_ns) of files already verified in this process: hashing 550 MB once is enough
_VERIFIED: set[tuple[str, int, int]] = set()


def list_weights() -> list[WeightsEntry]:
    """All registry entries, in registry order."""
    return list(_ENTRIES)


def entry(name: str) -> WeightsEntry:
    """The registry entry ``name``; an unknown name raises an error listing the valid ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownWeightsError(
            f"no weights named {name!r}; valid names: {', '.join(_REGISTRY)}") from None


def hub_checkpoints_dir() -> Path:
    """``torch.hub.get_dir()/checkpoints`` (follows ``TORCH_HOME``), where torchvision caches."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def locate(
    name: str | WeightsEntry,
    *,
    allow_download: bool | None = None,
    progress: bool = True,
) -> Path:
    """Path of a verified weights file.

    Parameters
    ----------
    name : str or WeightsEntry
        Registry name, or an entry of your own (same lookup and checks).
    allow_download : bool, optional
        Download into the hub cache when the file is nowhere; default from
        ``DEBLURLAB_ALLOW_DOWNLOAD`` (``1``/``true``/``yes``), else off.
    progress : bool
        Progress bar for a download.

    Raises
    ------
    WeightsNotFoundError
        Not found (and not downloadable): names the file, the folders searched, where to put it.
    deblurlab.fetch.ChecksumError
        A file was found or downloaded but its checksum differs.
    """
    e = name if isinstance(name, WeightsEntry) else entry(name)
    hub = hub_checkpoints_dir()
    user_dir = config.weights_dir()
    for folder in (user_dir, hub):
        if folder is not None and (folder / e.filename).is_file():
            return _verified(e, folder / e.filename)

    if allow_download is None:
        allow_download = os.environ.get(ALLOW_DOWNLOAD_ENV, "").strip().lower() in ("1", "true", "yes")
    failure = ""
    checksum_known = e.sha256 is not None or e.sha256_prefix is not None
    if allow_download and e.url and not checksum_known:
        failure = " No checksum is published for it, so deblurlab does not download it."
    elif allow_download and e.url:
        try:
            path = download(e.url, hub / e.filename, sha256=e.sha256,
                            sha256_prefix=e.sha256_prefix, progress=progress)
        except DownloadError as exc:
            failure = f" Download failed: {exc}."
        else:  # download() has verified it already
            st = path.stat()
            _VERIFIED.add((str(path.resolve()), st.st_size, st.st_mtime_ns))
            return path
    raise WeightsNotFoundError(_not_found_message(e, user_dir, hub, allow_download, failure))


def load_state_dict(
    name: str | WeightsEntry,
    *,
    allow_download: bool | None = None,
    progress: bool = True,
) -> dict[str, torch.Tensor]:
    """Verified weights as a state dict on the CPU (``torch.load(weights_only=True)``).

    See :func:`locate` for the search order and errors. A file that is not a plain mapping of
    names to tensors raises ``ValueError`` naming the file.
    """
    e = name if isinstance(name, WeightsEntry) else entry(name)
    path = locate(e, allow_download=allow_download, progress=progress)
    try:
        obj = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # unpickling errors come in many types
        raise ValueError(f"cannot load '{path}' as a torch state dict: {exc}") from exc
    if e.state_dict_key is not None:
        if not isinstance(obj, Mapping) or e.state_dict_key not in obj:
            raise ValueError(f"'{path}' has no '{e.state_dict_key}' entry: not the checkpoint "
                             f"'{e.name}' expects")
        obj = obj[e.state_dict_key]
    if not isinstance(obj, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    ):
        raise ValueError(f"'{path}' is not a state dict (a mapping of names to tensors)")
    return dict(obj)


def load_pretrained(model: torch.nn.Module, name: str | WeightsEntry, *,
                    allow_download: bool | None = None) -> torch.nn.Module:
    """Load registry weights ``name`` into ``model`` strictly (every key, every shape) and
    return it in eval mode.

    Raises:
        WeightsNotFoundError: the file is nowhere (see :func:`locate`).
        ValueError: the file does not fit the model — names the missing, unexpected or
            mis-shaped keys, so a wrong configuration never runs with half-random weights.
    """
    e = name if isinstance(name, WeightsEntry) else entry(name)
    state = load_state_dict(e, allow_download=allow_download)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or shapes:
        def few(keys: list[str]) -> str:
            return ", ".join(keys[:5]) + (f" … ({len(keys)} in all)" if len(keys) > 5 else "")
        raise ValueError(
            f"weights '{e.name}' do not fit {type(model).__name__}: "
            f"missing {few(missing) or 'none'}; unexpected {few(unexpected) or 'none'}; "
            f"shape mismatch {few(shapes) or 'none'}. {e.notes}")
    model.load_state_dict(state, strict=True)
    return model.eval()


def _verified(e: WeightsEntry, path: Path) -> Path:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _VERIFIED:
        try:
            verify(path, sha256=e.sha256, sha256_prefix=e.sha256_prefix)
        except ChecksumError as exc:
            raise ChecksumError(
                f"{exc} — weights '{e.name}' need the official file; delete or replace it"
                + (f" (download: {e.url})" if e.url else "")) from None
        _VERIFIED.add(key)
    return path


def _not_found_message(e: WeightsEntry, user_dir: Path | None, hub: Path,
                       allow_download: bool, failure: str) -> str:
    env = os.environ.get(config.WEIGHTS_ENV, "").strip()
    first = (f"${config.WEIGHTS_ENV} = {user_dir}" if user_dir else
             f"${config.WEIGHTS_ENV} ({'not a folder: ' + env if env else 'unset'})")
    if e.url is None:
        how = f"No direct download URL exists: {e.notes}"
    elif allow_download:
        how = f"Download it from {e.url}."
    else:
        how = (f"Download it from {e.url}, or let deblurlab do it: allow_download=True or "
               f"{ALLOW_DOWNLOAD_ENV}=1.")
    return (f"pretrained weights '{e.name}' not found: no file '{e.filename}' in {first} or in "
            f"the torch hub cache {hub}. Put the file in either folder.{failure} {how} "
            "(No random weights are used in its place.)")
