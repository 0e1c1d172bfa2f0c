"""accepts_keyword: optional keywords of user-supplied blocks are detected from their signatures."""

from __future__ import annotations

from torch import nn

from fusionblocks._signatures import accepts_keyword


def test_named_keyword_var_kwargs_and_missing() -> None:
    def named(x, *, flag=True):
        return x

    def var_kw(x, **kwargs):
        return x

    def plain(x):
        return x

    def positional_only(x, flag, /):
        return x

    assert accepts_keyword(named, "flag") and accepts_keyword(var_kw, "flag")
    assert not accepts_keyword(plain, "flag") and not accepts_keyword(positional_only, "flag")


def test_modules_are_inspected_through_forward() -> None:
    class WithFlag(nn.Module):
        def forward(self, x, return_attention=True):
            return x

    assert accepts_keyword(WithFlag(), "return_attention")
    assert not accepts_keyword(nn.Identity(), "return_attention")


def test_wrappers_must_pass_the_keyword_through() -> None:
    from fusionblocks._signatures import wrapped_module_accepts_keyword

    class Inner(nn.Module):
        def forward(self, x, flag=False):
            return x

    class PassThrough(nn.Module):  # DDP-style: forwards **kwargs to .module
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, *args, **kwargs):
            return self.module(*args, **kwargs)

    class Narrow(PassThrough):  # drops keywords
        def forward(self, x):
            return self.module(x)

    class Compiled(nn.Module):  # torch.compile's OptimizedModule keeps the original as _orig_mod
        def __init__(self, module):
            super().__init__()
            self._orig_mod = module

        def forward(self, *args, **kwargs):
            return self._orig_mod(*args, **kwargs)

    assert wrapped_module_accepts_keyword(PassThrough(Compiled(Inner())), "flag")
    assert not wrapped_module_accepts_keyword(Narrow(Inner()), "flag")
    assert not wrapped_module_accepts_keyword(PassThrough(nn.Identity()), "flag")
