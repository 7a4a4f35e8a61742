"""ARKNet — the plain U-Net of Aurangabadkar et al., one of paper 003's three deblurring networks.

Paper 003 (Aurangabadkar & Kokaram, EUSIPCO 2025, sharpness-based loss) trains ARKNet,
XY-Deblur and EHNet on grey (luma) crops. ARKNet's official code is Keras:
``aurangau/QSharpNet``, ``restorationNetwork.py`` (``convBlock``, ``encoderLayer``,
``decoderLayer``, ``generateUNet``). Spec: ``METHODS.md`` §4.7. This is a PyTorch port of that
structure; there is no official PyTorch checkpoint, so the parameter names are ours (below).

Conv block ``B(c)`` = 5 × [conv 3×3 (no bias) → BatchNorm → GELU] at ``c`` channels (the first
conv maps the incoming channels to ``c``). ``P`` = 2×2 max-pool, ``T`` = transposed conv 2×2
stride 2 (bias), ``cat`` = channel concatenation ``[up, skip]``::

    x ─ B(16) ─────────────────────────────────────────── cat ─ B(16) ─ 1×1 16→in ─ (+ x) ─ out
         P                                                 T
         B(32) ───────────────────────────────── cat ─ B(32)
          P                                       T
          B(64) ─────────────────────── cat ─ B(64)
           P                             T
           B(128) ───────────── cat ─ B(128)
            P                    T
            bridge B(256) ───────┘

The output conv is 1×1, no bias, linear; the network predicts ``output − input`` (global
residual). No activation at the end, no clamp; images in [0, 1] in and out.

Keras details kept:

* **BatchNorm** as Keras' defaults: ``eps = 1e-3``, running-statistics momentum 0.01 in
  PyTorch's convention (Keras ``momentum = 0.99``). PyTorch's own defaults are 1e-5 / 0.1.
* **GELU** exact (erf form; ``tf.keras.activations.gelu`` defaults to ``approximate=False``).
* **Init** (``init="keras"``): 3×3 and output convs He-normal as Keras does it — truncated
  normal within ±2σ, ``σ = sqrt(2 / fan_in) / 0.87962566`` (the factor undoes the truncation's
  variance loss); transposed convs Glorot-uniform, their biases 0; BatchNorm γ = 1, β = 0.
  ``init="torch"`` keeps PyTorch's default init.

Parameter names: ``encoders.{i}`` (i = 0…3, widths 16…128), ``bridge``, ``ups.{i}`` and
``decoders.{i}`` (i = 0 is the coarsest, width 128), ``output``. A block's ``j``-th unit is
``{block}.{j}`` with ``.conv``, ``.bn`` and ``.act``, e.g. ``encoders.0.0.conv.weight``
``(16, 1, 3, 3)``. Porting the Keras weights: the Keras layers are created in the order
encoders, bridge, then per decoder level ``T`` followed by its block, then ``output``; kernels
``(kh, kw, in, out)`` → ``permute(3, 2, 0, 1)``, transposed ``(kh, kw, out, in)`` →
``permute(3, 2, 0, 1)`` as well (PyTorch stores ``(in, out, kh, kw)``), BatchNorm
``gamma/beta/moving_mean/moving_variance`` → ``weight/bias/running_mean/running_var``
(untested: no Keras weights were available).

Parameter counts (PyTorch parameters = Keras *trainable* parameters; Keras' ``count_params()``
also counts the BatchNorm moving mean and variance, +7,360 at the official widths; checked in
``tests/test_paper003_models.py``)::

    config                        widths                   grey (in_ch=1)   RGB (in_ch=3)
    official                      16, 32, 64, 128, 256       4,891,216       4,891,536
    small CPU                     8, 16, 32, 64, 128         1,224,744       1,224,904
    tiny (doctest), 2 convs/block 4, 8, 16                       7,476           7,556

METHODS §4.7 verified 4,891,216 ≈ the paper's "4.8 million trainable parameters"; the
supplement's README (``aurangau/EUSIPCO2025``) says 4.2 M, which does not match the code. Colour costs ``2·9·16`` weights in the first conv and ``2·16``
in the output conv.

**Small CPU config**: ``ARKNet(widths=(8, 16, 32, 64, 128))``, the same depth with half the
channels. ARKNet is cheap (16 channels at full resolution), so the official model is practical
on CPU too. Forward + backward of a grey ``4×1×64×64`` batch, one thread
(``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``), L1 loss, ``time.perf_counter`` around
zero_grad/forward/loss/backward (no optimizer step), 20 iterations after 3 warm-up ones, train
mode, torch 2.13 CPU, two runs on a shared 2-core machine (load ≈ 2.7–2.9), so treat them as
upper bounds::

    config      median         min
    small       90–99 ms       75 ms
    official    165–172 ms     146 ms

Size: four 2×2 max-pools, so ``H`` and ``W`` must be multiples of 16 (``size_multiple =
2**levels``; the Keras model is built for 128×128); other sizes raise ``ValueError`` —
:func:`deblurlab.infer.predict` / ``predict_tiled`` pad to it. Grey is the paper's setting
(``in_ch = 1``, the default); ``in_ch = 3`` is supported.

>>> import torch
>>> model = ARKNet(widths=(4, 8, 16), convs_per_block=2)
>>> model.size_multiple
4
>>> model(torch.rand(2, 1, 8, 12)).shape
torch.Size([2, 1, 8, 12])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

INITS: tuple[str, ...] = ("keras", "torch")

#: Keras ``BatchNormalization`` defaults (``momentum=0.99`` → PyTorch momentum 0.01).
KERAS_BN_EPS: float = 1e-3
KERAS_BN_MOMENTUM: float = 0.01

#: std of the standard normal truncated to ±2 (Keras' truncated-normal variance correction).
_TRUNC_STD = 0.87962566103423978


def _check_int(owner: str, name: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int ≥ {minimum}, got {value!r}")
    return value


class ConvBNGELU(nn.Module):
    """conv 3×3 (padding 1, no bias) → BatchNorm (Keras eps/momentum) → exact GELU.

    Attributes ``conv``, ``bn``, ``act``. Parameters: ``9·c_in·c_out + 2·c_out``.

    >>> ConvBNGELU(1, 4)(torch.rand(2, 1, 5, 6)).shape
    torch.Size([2, 4, 5, 6])
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=KERAS_BN_EPS, momentum=KERAS_BN_MOMENTUM)
        self.act = nn.GELU()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


def conv_block(c_in: int, c_out: int, n: int = 5) -> nn.Sequential:
    """ARKNet's ``convBlock``: ``n`` :class:`ConvBNGELU` units, ``c_in → c_out → … → c_out``.

    >>> len(conv_block(1, 16)), sum(p.numel() for p in conv_block(1, 16).parameters())
    (5, 9520)
    """
    return nn.Sequential(*(ConvBNGELU(c_in if j == 0 else c_out, c_out) for j in range(n)))


def keras_init_(module: nn.Module) -> nn.Module:
    """Keras-style init in place: ``Conv2d`` He-normal (truncated, Keras scaling), biases 0;
    ``ConvTranspose2d`` Glorot-uniform, biases 0; BatchNorm γ = 1, β = 0. Returns ``module``.

    >>> conv = keras_init_(nn.Conv2d(8, 8, 3))
    >>> bool(conv.weight.abs().max() <= 2 * math.sqrt(2 / 72) / 0.87962566 + 1e-6)
    True
    """
    for m in module.modules():
        with torch.no_grad():
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                std = math.sqrt(2.0 / fan_in) / _TRUNC_STD
                nn.init.trunc_normal_(m.weight, 0.0, std, -2 * std, 2 * std)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()
    return module


class ARKNet(nn.Module):
    """ARKNet U-Net (paper 003, METHODS §4.7); defaults = the official Keras model.

    Args:
        in_ch: image channels in and out (1 = grey, the official setting; 3 for RGB).
        widths: encoder widths, finest first, then the bridge width; ``len(widths) − 1`` pooling
            levels (official ``(16, 32, 64, 128, 256)``).
        convs_per_block: conv–BN–GELU units per block (5 in the official code).
        init: ``"keras"`` (He-normal / Glorot-uniform as in the Keras model) or ``"torch"``.

    Attributes:
        encoders, bridge, ups, decoders, output: see the module docstring.
        size_multiple: ``2**(len(widths) − 1)`` (16 for the official widths).

    Shape:
        ``(N, in_ch, H, W) → (N, in_ch, H, W)``; images in [0, 1], output not clamped.

    Raises:
        ValueError: bad configuration; at forward time a wrong channel count or ``H``/``W`` not
            multiples of ``size_multiple``.

    >>> ARKNet(widths=(4, 8), convs_per_block=1)(torch.rand(1, 1, 6, 4)).shape
    torch.Size([1, 1, 6, 4])
    """

    size_multiple: int = 16

    def __init__(self, in_ch: int = 1, widths: Sequence[int] = (16, 32, 64, 128, 256),
                 convs_per_block: int = 5, init: str = "keras") -> None:
        super().__init__()
        _check_int("ARKNet", "in_ch", in_ch, 1)
        _check_int("ARKNet", "convs_per_block", convs_per_block, 1)
        if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or len(widths) < 2:
            raise ValueError(f"ARKNet: widths must be a sequence of ≥ 2 ints (encoder widths, "
                             f"then the bridge), got {widths!r}")
        ws = tuple(_check_int("ARKNet", f"widths[{i}]", w, 1) for i, w in enumerate(widths))
        if init not in INITS:
            raise ValueError(f"ARKNet: init must be one of {INITS}, got {init!r}")
        self.in_ch, self.widths, self.convs_per_block, self.init = in_ch, ws, convs_per_block, init
        self.size_multiple = 2 ** (len(ws) - 1)

        n = convs_per_block
        enc, bridge = ws[:-1], ws[-1]
        self.encoders = nn.ModuleList()
        c = in_ch
        for w in enc:
            self.encoders.append(conv_block(c, w, n))
            c = w
        self.pool = nn.MaxPool2d(2)
        self.bridge = conv_block(c, bridge, n)
        c = bridge
        self.ups, self.decoders = nn.ModuleList(), nn.ModuleList()
        for w in reversed(enc):
            self.ups.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            self.decoders.append(conv_block(2 * w, w, n))
            c = w
        self.output = nn.Conv2d(c, in_ch, 1, bias=False)
        if init == "keras":
            keras_init_(self)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_ch:
            raise ValueError(f"ARKNet expects (N, {self.in_ch}, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(f"ARKNet needs H and W to be multiples of {m}, got {h}×{w}; use "
                             f"deblurlab.infer.predict / predict_tiled, which pad the input")
        skips = []
        feat = x
        for encoder in self.encoders:
            feat = encoder(feat)
            skips.append(feat)
            feat = self.pool(feat)
        feat = self.bridge(feat)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips)):
            feat = decoder(torch.cat([up(feat), skip], dim=1))
        return self.output(feat) + x

    def extra_repr(self) -> str:
        return (f"in_ch={self.in_ch}, widths={self.widths}, "
                f"convs_per_block={self.convs_per_block}, init={self.init!r}")


__all__ = ["ARKNet", "ConvBNGELU", "INITS", "conv_block", "keras_init_"]
