"""Does a callable take a given keyword argument? (Optional protocol features of user-supplied blocks.)"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from torch import nn

__all__ = ["accepts_keyword", "wrapped_module_accepts_keyword"]


def accepts_keyword(target: Callable[..., Any] | nn.Module, name: str) -> bool:
    """True when ``target`` (a callable, a class, or an ``nn.Module`` whose ``forward`` is inspected) can be called
    with the keyword argument ``name``: a parameter of that name or ``**kwargs``. False when it has no signature.
    """
    if isinstance(target, nn.Module):
        target = target.forward
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    if name in params and params[name].kind is not inspect.Parameter.POSITIONAL_ONLY:
        return True
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def wrapped_module_accepts_keyword(module: nn.Module, name: str) -> bool:
    """True when ``module`` and every module it wraps (DDP's ``.module``, ``torch.compile``'s ``._orig_mod``) can
    be called with the keyword argument ``name``.
    """
    inner: nn.Module | None = module
    while inner is not None:
        if not accepts_keyword(inner, name):
            return False
        wrapped = [getattr(inner, attr, None) for attr in ("module", "_orig_mod")]
        inner = next((w for w in wrapped if isinstance(w, nn.Module)), None)
    return True
