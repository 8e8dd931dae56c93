"""Network modules: ``mdnc.modules.resnet`` holds the residual family,
``mdnc.modules.blindspot`` the blind-spot network of self-supervised denoising."""

from . import blindspot, resnet

__all__ = ["blindspot", "resnet"]
