"""mdnc: residual auto-encoders and U-Nets for 1-D signals (and 2-D/3-D data), on PyTorch.

``import mdnc`` makes ``mdnc.modules.resnet`` and ``mdnc.contribs.torchsummary`` reachable
and loads nothing heavier than PyTorch itself.
"""

from . import contribs, modules

__version__ = "0.1.0"
__all__ = ["modules", "contribs", "__version__"]
