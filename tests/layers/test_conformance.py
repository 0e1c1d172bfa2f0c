"""The same checks for every layer in the registry (a new block cannot land untested), run through the public
``fusionblocks.testing`` module that plugin authors use too.

Each registered layer provides ``example=`` at registration (``fusionblocks.layers.LayerExample``); a built-in layer
without one fails here.
"""

from __future__ import annotations

import pytest

from fusionblocks.registry import list_components
from fusionblocks.testing import CHECKS, MissingExampleError, check_layer, is_builtin

LAYERS = list_components("layer")

BUILTIN_LAYERS = {
    "attngan.word_attention",
    "ffgan.acm",
    "ffgan.ffblock",
    "ffgan.gsr",
    "ffgan.ca",
    "dfgan.affine",
    "dfgan.dfblock",
    "common.glu",
    "common.up_block",
    "common.res_block",
    "common.image_head",
}


def test_every_builtin_layer_is_registered() -> None:
    missing = BUILTIN_LAYERS - set(LAYERS)
    assert not missing, f"not registered: {sorted(missing)}"


@pytest.mark.parametrize("check", list(CHECKS["layer"]))
@pytest.mark.parametrize("name", LAYERS)
def test_layer_conformance(name: str, check: str) -> None:
    try:
        check_layer(name, [check])
    except MissingExampleError:
        if is_builtin("layer", name):
            raise
        pytest.skip(f"third-party layer {name!r} has no conformance example")


def test_builtin_layer_without_example_fails_the_suite() -> None:
    from torch import nn

    from fusionblocks.registry import get_registry

    class Undocumented(nn.Module):
        pass

    Undocumented.__module__ = "fusionblocks.layers.undocumented"
    registry = get_registry("layer")
    registry.register("test.undocumented_builtin", Undocumented)
    try:
        assert is_builtin("layer", "test.undocumented_builtin")
        with pytest.raises(MissingExampleError, match="without a conformance example"):
            check_layer("test.undocumented_builtin")
    finally:
        registry.unregister("test.undocumented_builtin")
