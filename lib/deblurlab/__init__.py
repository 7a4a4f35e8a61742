"""deblurlab — a thin library behind the deblurring notebooks.

Conventions used everywhere:

* numpy images are float32 in [0, 1], shaped ``(H, W)`` (grey) or ``(H, W, C)`` (colour);
* torch images are float32 ``(N, C, H, W)`` in [0, 1];
* the original data range of a file is kept in :class:`deblurlab.io.ImageMeta`;
* real data and weights are found through ``DEBLURLAB_DATA`` / ``DEBLURLAB_WEIGHTS``
  (see :mod:`deblurlab.config`), never through hard-coded paths.
"""

__version__ = "0.1.0"
