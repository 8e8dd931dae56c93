"""mdnc: residual auto-encoders and U-Nets for 1-D signals (and 2-D/3-D data), on PyTorch.

``import mdnc`` makes ``mdnc.modules.resnet`` and ``mdnc.contribs.torchsummary`` reachable
and loads nothing heavier than PyTorch itself; the workflow (``mdnc.data``,
``mdnc.training``, ``mdnc.inference``, ``mdnc.checkpoint``) is imported on first use.
"""

from __future__ import annotations

from typing import Any

from . import contribs, modules

__version__ = "0.1.0"
__all__ = ["modules", "contribs", "load", "__version__"]


def load(path: Any, **kwargs: Any) -> Any:
    """Rebuild a trained network from a checkpoint folder (see :func:`mdnc.checkpoint.load`)."""
    from .checkpoint import load as _load

    return _load(path, **kwargs)
