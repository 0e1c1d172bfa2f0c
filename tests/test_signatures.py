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
