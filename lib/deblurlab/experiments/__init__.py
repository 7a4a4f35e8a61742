"""Paper-specific orchestration shared by a paper's notebooks (data split, run specs, evaluation).

One module per paper: :mod:`deblurlab.experiments.paper000` (perceptual-loss artifacts), …
"""
