"""Model zoo: one file per architecture, built by name through a small registry.

Conventions for every model here:

* input and output are float32 ``(N, C, H, W)`` tensors, images in [0, 1];
* an optional integer attribute ``size_multiple`` says what ``H`` and ``W`` must be multiples of
  (1 when absent); :mod:`deblurlab.infer` pads inputs to it.

Adding an architecture: put it in its own module and add one line to ``_REGISTRY`` below
(``"name": "deblurlab.models.<module>:<Class>"``), or call :func:`register_model` at run time.
Entries given as strings are imported only when built, so a heavy architecture costs nothing
until it is used.

>>> model = build_model("residual_cnn", width=8, depth=3)
>>> count_parameters(model)
737
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable

from torch import nn

from .simple import ResidualCNN, SmallUNet

ModelFactory = Callable[..., nn.Module]

#: name → factory, or ``"module:attribute"`` imported on first use.
_REGISTRY: dict[str, ModelFactory | str] = {
    "residual_cnn": "deblurlab.models.simple:ResidualCNN",
    "small_unet": "deblurlab.models.simple:SmallUNet",
    "dhn": "deblurlab.models.dhn:DHN",
    "dmphn": "deblurlab.models.dmphn:DMPHN",
    "nafnet": "deblurlab.models.nafnet:NAFNet",
    "midnet": "deblurlab.models.nafnet:MIDNet",
    "hinet": "deblurlab.models.hinet:HINet",
    "restormer": "deblurlab.models.restormer:Restormer",
    "bu": "deblurlab.models.burst:BU",
    "bdu": "deblurlab.models.dense_burst:BDU",
    "fpn_mobilenet": "deblurlab.models.deblurgan:FPNMobileNet",
    "arknet": "deblurlab.models.arknet:ARKNet",
    "xydeblur": "deblurlab.models.xydeblur:XYDeblur",
    "ehnet": "deblurlab.models.ehnet:EHNet",
    "unet": "deblurlab.models.msunet:UNet",
    "msunet": "deblurlab.models.msunet:MultiScaleUNet",
    "c2f_unet": "deblurlab.models.msunet:CoarseToFineUNet",
    "deepdeblur": "deblurlab.models.deepdeblur:DeepDeblur",
    "msresnet": "deblurlab.models.deepdeblur:MultiScaleResNet",
    "ddn": "deblurlab.models.deepdeblur:DecoupledResNet",
    "rdn": "deblurlab.models.rdn:RDN",
}


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def register_model(name: str, factory: ModelFactory | str, *, overwrite: bool = False) -> None:
    """Make ``build_model(name, ...)`` call ``factory(...)``.

    Args:
        name: registry name (case-insensitive, ``-`` and ``_`` are equivalent).
        factory: a callable returning an ``nn.Module`` or a ``"module:attribute"`` string.
        overwrite: replace an existing entry instead of raising ``ValueError``.
    """
    key = _key(name)
    if key in _REGISTRY and not overwrite:
        raise ValueError(f"model {name!r} is already registered; pass overwrite=True to replace it")
    if not (callable(factory) or (isinstance(factory, str) and ":" in factory)):
        raise TypeError(f"factory must be callable or 'module:attribute', got {factory!r}")
    _REGISTRY[key] = factory


def available_models() -> list[str]:
    """Sorted registry names."""
    return sorted(_REGISTRY)


def _resolve(key: str) -> ModelFactory:
    factory = _REGISTRY[key]
    if isinstance(factory, str):
        module_name, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
        _REGISTRY[key] = factory
    return factory


def build_model(name: str, **kwargs) -> nn.Module:
    """Instantiate the registered model ``name`` with keyword arguments ``kwargs``.

    Raises:
        KeyError: unknown name (the message lists close matches and all names).
        TypeError: arguments the model does not accept.

    >>> build_model("small_unet", width=4, levels=2).size_multiple
    4
    """
    key = _key(name)
    if key not in _REGISTRY:
        close = difflib.get_close_matches(key, _REGISTRY, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"unknown model {name!r}.{hint} Available: {', '.join(available_models())}")
    factory = _resolve(key)
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise TypeError(f"build_model({name!r}, ...): {exc}") from exc


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (shared parameters counted once).

    >>> count_parameters(nn.Conv2d(1, 2, 3))
    20
    """
    params = {id(p): p for p in model.parameters()}.values()
    return sum(p.numel() for p in params if p.requires_grad or not trainable_only)


__all__ = ["ResidualCNN", "SmallUNet", "available_models", "build_model", "count_parameters",
           "register_model"]
