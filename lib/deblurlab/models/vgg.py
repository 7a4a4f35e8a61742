"""VGG16 / VGG19 feature stacks in plain torch (no torchvision), loaded from the weights registry.

The ``features`` ``nn.Sequential`` uses torchvision's layer indices (conv, ReLU, …, max-pool), so
torchvision-style state dicts (``features.N.weight`` / ``features.N.bias``) load directly and the
indices of METHODS §1.4 apply unchanged:

======== ========= ========= ========= ========= ========= ========= ========= =========
name     conv_1_1  conv_1_2  conv_2_1  conv_2_2  conv_3_1  conv_3_2  conv_3_3  conv_3_4
index    0         2         5         7         10        12        14        16
======== ========= ========= ========= ========= ========= ========= ========= =========

(VGG19; :data:`VGG_LAYERS` lists all 16 convolutions, :data:`VGG16_LAYERS` the 13 of VGG16.)

Layer names: ``conv_i_j`` is the *j*-th convolution of block *i*. With ``pre_relu=True`` (the
default, paper 000's convention) its feature map is the convolution output *before* the ReLU; with
``pre_relu=False`` it is the output of the ReLU that follows. ``relu_i_j`` always means the
post-ReLU map, whatever ``pre_relu`` says (LPIPS and DISTS use those). The ReLUs are not in-place,
so pre-ReLU maps are never overwritten.

There is **no silent fallback to random weights**: ``weights=None`` is an error, a missing file is
a :class:`deblurlab.weights.WeightsNotFoundError` naming the file, and random weights are only
built on the explicit request ``weights="random-for-tests"``.

Example:
    >>> import torch
    >>> vgg = VGGFeatures(weights="random-for-tests", layers=("conv_1_2", "conv_2_1"))
    >>> feats = vgg(torch.rand(2, 1, 32, 32))  # grey is replicated to RGB
    >>> {k: tuple(v.shape) for k, v in feats.items()}
    {'conv_1_2': (2, 64, 32, 32), 'conv_2_1': (2, 128, 16, 16)}
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..weights import WeightsEntry, entry, load_state_dict

__all__ = ["RANDOM_FOR_TESTS", "VGG16_LAYERS", "VGG19_LAYERS", "VGG_LAYERS", "L2Pool2d",
           "VGGFeatures", "layer_index"]

#: The only ``weights`` value that builds random (untrained) weights — for tests and demos.
RANDOM_FOR_TESTS = "random-for-tests"

_CFG = {
    # channels per conv; "M" = 2×2 max-pool (torchvision ``cfgs["E"]`` / ``cfgs["D"]`` layouts)
    "vgg19": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
              512, 512, 512, 512, "M", 512, 512, 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
              512, 512, 512, "M", 512, 512, 512, "M"),
}


def _conv_indices(arch: str) -> dict[str, int]:
    names: dict[str, int] = {}
    idx, block, j = 0, 1, 1
    for v in _CFG[arch]:
        if v == "M":
            idx, block, j = idx + 1, block + 1, 1
        else:
            names[f"conv_{block}_{j}"] = idx
            idx, j = idx + 2, j + 1
    return names


#: VGG19 convolution name → index in ``features`` (conv_1_1 … conv_5_4).
VGG19_LAYERS: dict[str, int] = _conv_indices("vgg19")
#: VGG16 convolution name → index in ``features`` (conv_1_1 … conv_5_3).
VGG16_LAYERS: dict[str, int] = _conv_indices("vgg16")
#: Alias of :data:`VGG19_LAYERS` (paper 000 uses VGG19).
VGG_LAYERS = VGG19_LAYERS
_ARCH_LAYERS = {"vgg19": VGG19_LAYERS, "vgg16": VGG16_LAYERS}
_NAME = re.compile(r"^(conv|relu)_(\d)_(\d)$")


def layer_index(name: str, arch: str = "vgg19", pre_relu: bool = True) -> int:
    """Index in ``features`` whose *output* is the feature map ``name``.

    ``conv_i_j`` → the convolution (``pre_relu=True``) or its ReLU (index + 1);
    ``relu_i_j`` → always the ReLU.

    >>> layer_index("conv_3_3"), layer_index("conv_3_3", pre_relu=False), layer_index("relu_1_2")
    (14, 15, 3)
    """
    if arch not in _ARCH_LAYERS:
        raise ValueError(f"arch must be 'vgg19' or 'vgg16', got {arch!r}")
    m = _NAME.match(name)
    conv = f"conv_{m.group(2)}_{m.group(3)}" if m else None
    if conv not in _ARCH_LAYERS[arch]:
        valid = ", ".join(_ARCH_LAYERS[arch])
        raise ValueError(f"unknown {arch} layer {name!r}; use conv_i_j or relu_i_j with "
                         f"conv_i_j one of: {valid}")
    post = m.group(1) == "relu" or not pre_relu
    return _ARCH_LAYERS[arch][conv] + (1 if post else 0)


class L2Pool2d(nn.Module):
    """L2 pooling as in DISTS (Ding et al. 2020): ``sqrt(hann3x3 * x² + 1e-12)``, stride 2.

    The 3×3 window is the outer product of ``[0.5, 1, 0.5]`` (``numpy.hanning(5)[1:-1]``),
    normalised to sum 1, applied per channel with zero padding 1. Output size equals that of a
    2×2/stride-2 max-pool for even input sizes. No parameters (the window is not in state dicts).

    >>> L2Pool2d()(torch.ones(1, 2, 8, 8))[0, 0, 1:3, 1:3]
    tensor([[1., 1.],
            [1., 1.]])
    """

    def __init__(self, eps: float = 1e-12) -> None:
        super().__init__()
        w = torch.tensor([0.5, 1.0, 0.5])
        k = torch.outer(w, w)
        self.register_buffer("window", (k / k.sum())[None, None], persistent=False)
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        c = x.shape[1]
        k = self.window.to(dtype=x.dtype).expand(c, 1, 3, 3)
        return torch.sqrt(F.conv2d(x * x, k, stride=2, padding=1, groups=c) + self.eps)


def _build_features(arch: str, upto: int, pool: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    cin = 3
    for v in _CFG[arch]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2) if pool == "max" else L2Pool2d())
        else:
            layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU(inplace=False)]
            cin = int(v)
        if len(layers) > upto:
            break
    return nn.Sequential(*layers[: upto + 1])


def _index_name(arch: str, index: int) -> str:
    for name, i in _ARCH_LAYERS[arch].items():
        if i == index:
            return name
    return f"features.{index}"


class VGGFeatures(nn.Module):
    """Frozen VGG feature extractor returning ``{layer name: feature map}``.

    Args:
        arch: ``"vgg19"`` or ``"vgg16"``.
        weights: registry name (:func:`deblurlab.weights.list_weights`), a
            :class:`~deblurlab.weights.WeightsEntry` of your own (same lookup and checksum), or
            ``"random-for-tests"`` (seeded random weights, explicitly *not* pretrained).
            ``None`` is refused.
        layers: names like ``"conv_2_1"`` / ``"relu_3_3"`` (see :func:`layer_index`); the network
            is truncated after the deepest one.
        pre_relu: ``conv_i_j`` maps before (``True``, METHODS §1.4) or after the ReLU.
        pool: ``"max"`` (VGG) or ``"l2"`` (:class:`L2Pool2d`, as in DISTS).
        preprocess: ``"weights"`` (default): the weights entry's preprocessing (RGB 0..255 minus
            the Caffe mean for the shared VGG19 file, torchvision mean/std for torchvision files);
            a registry name / entry whose preprocessing to use instead (LPIPS); or ``None``
            (inputs already prepared: ``forward`` then only replicates grey to RGB). With
            ``"random-for-tests"`` weights, ``"weights"`` means torchvision's mean/std.

    Inputs are ``(N, 1 or 3, H, W)`` float images in [0, 1] (grey replicated to 3 channels).
    The module is always in eval mode (``.train()`` is ignored), its parameters have
    ``requires_grad=False``, and it follows its input to the input's device on first use.
    Gradients still flow through it to the *input* (perceptual losses need that).

    Raises:
        ValueError: ``weights=None``, unknown layer/arch, a layer deeper than the weights file
            holds (the message names the file's last layer), or shape mismatches.
        deblurlab.weights.WeightsNotFoundError: the weights file is nowhere to be found.

    Example:
        >>> import torch
        >>> vgg = VGGFeatures(weights="random-for-tests", layers=("conv_3_3",))
        >>> tuple(vgg(torch.rand(1, 3, 64, 64))["conv_3_3"].shape)
        (1, 256, 16, 16)
    """

    def __init__(
        self,
        arch: str = "vgg19",
        weights: str | WeightsEntry | None = "vgg19-imagenet-conv1_1-conv3_4",
        layers: Sequence[str] | str = ("conv_2_1",),
        pre_relu: bool = True,
        *,
        pool: str = "max",
        preprocess: str | WeightsEntry | None = "weights",
    ) -> None:
        super().__init__()
        if arch not in _CFG:
            raise ValueError(f"arch must be 'vgg19' or 'vgg16', got {arch!r}")
        if weights is None:
            raise ValueError(
                "weights=None: VGGFeatures never builds random weights silently. Pass a registry "
                "name (e.g. 'vgg19-imagenet-conv1_1-conv3_4'), a WeightsEntry, or "
                f"'{RANDOM_FOR_TESTS}' if you really want untrained weights.")
        if pool not in ("max", "l2"):
            raise ValueError(f"pool must be 'max' or 'l2', got {pool!r}")
        layers = (layers,) if isinstance(layers, str) else tuple(layers)
        if not layers:
            raise ValueError("layers must name at least one layer, e.g. ('conv_2_1',)")
        self.arch, self.pre_relu, self.pool = arch, bool(pre_relu), pool
        self.layers = layers
        self._index = {name: layer_index(name, arch, pre_relu) for name in layers}
        upto = max(self._index.values())
        self.features = _build_features(arch, upto, pool)

        random = isinstance(weights, str) and weights == RANDOM_FOR_TESTS
        if random:
            self.weights_entry = None
            self._init_random()
        else:
            e = weights if isinstance(weights, WeightsEntry) else entry(weights)
            self._check_arch(e)
            self.weights_entry = e
            self._load(e, load_state_dict(e))
        if preprocess == "weights":
            pre = self.weights_entry or entry(f"{arch}-torchvision")
        elif preprocess is None:
            pre = None
        else:
            pre = preprocess if isinstance(preprocess, WeightsEntry) else entry(preprocess)
        self.preprocess_entry = pre
        for p in self.parameters():
            p.requires_grad_(False)
        super().train(False)

    # ------------------------------------------------------------------ weights
    def _check_arch(self, e: WeightsEntry) -> None:
        other = {"vgg19": "vgg16", "vgg16": "vgg19"}[self.arch]
        if e.name.startswith(other) or e.filename.startswith(other):
            raise ValueError(f"weights {e.name!r} are for {other}, but arch={self.arch!r}")

    def _init_random(self) -> None:
        g = torch.Generator().manual_seed(0)
        for m in self.features:
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * 9
                with torch.no_grad():
                    m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2 / fan_in))
                    m.bias.zero_()

    def _load(self, e: WeightsEntry, sd: dict[str, Tensor]) -> None:
        held = sorted(int(m.group(1)) for k in sd
                      if (m := re.match(r"^features\.(\d+)\.weight$", k)))
        last = max(held) if held else None
        for i, m in enumerate(self.features):
            if not isinstance(m, nn.Conv2d):
                continue
            wk, bk = f"features.{i}.weight", f"features.{i}.bias"
            if wk not in sd or bk not in sd:
                deepest = max(self._index, key=self._index.get)
                if last is not None and i > last:
                    raise ValueError(
                        f"layer {deepest!r} needs {_index_name(self.arch, i)} (features.{i}), "
                        f"deeper than the weights file '{e.filename}' holds: its last layer is "
                        f"{_index_name(self.arch, last)} (features.{last}). Choose a shallower "
                        "layer or a full VGG weights file.")
                raise ValueError(f"weights file '{e.filename}' has no {wk} / {bk}; it is not a "
                                 f"torchvision-style {self.arch} features state dict")
            for key, param in ((wk, m.weight), (bk, m.bias)):
                if tuple(sd[key].shape) != tuple(param.shape):
                    raise ValueError(
                        f"weights file '{e.filename}': {key} has shape {tuple(sd[key].shape)}, "
                        f"{self.arch} needs {tuple(param.shape)} (wrong architecture?)")
            with torch.no_grad():
                m.weight.copy_(sd[wk])
                m.bias.copy_(sd[bk])

    # ------------------------------------------------------------------ module behaviour
    def train(self, mode: bool = True) -> VGGFeatures:
        """Ignored: the feature extractor stays in eval mode."""
        return super().train(False)

    def prepare(self, x: Tensor) -> Tensor:
        """Grey → RGB, then the chosen preprocessing; ``(N, 3, H, W)`` ready for ``features``."""
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"expected images (N, 1 or 3, H, W), got {tuple(x.shape)}")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if self.preprocess_entry is not None:
            x = self.preprocess_entry.preprocess(x)
        return x

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """``{name: feature map (N, C_l, H_l, W_l)}`` for every requested layer."""
        w = self.features[0].weight
        if w.device != x.device:
            self.to(x.device)
        if not torch.is_floating_point(x):
            x = x.float()
        h = self.prepare(x)
        out: dict[str, Tensor] = {}
        wanted: dict[int, list[str]] = {}
        for name, i in self._index.items():
            wanted.setdefault(i, []).append(name)
        for i, layer in enumerate(self.features):
            h = layer(h)
            for name in wanted.get(i, ()):
                out[name] = h
        return {name: out[name] for name in self.layers}

    def extra_repr(self) -> str:
        src = self.weights_entry.name if self.weights_entry else RANDOM_FOR_TESTS
        return (f"arch={self.arch!r}, weights={src!r}, layers={self.layers}, "
                f"pre_relu={self.pre_relu}, pool={self.pool!r}")
