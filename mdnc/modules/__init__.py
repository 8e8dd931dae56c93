"""Network modules: ``mdnc.modules.resnet`` holds the residual family."""

from . import resnet

__all__ = ["resnet"]
