"""The lazy top-level exports are typed: every lazy name has a TYPE_CHECKING import from the module it is loaded from,
and ``__all__`` lists them all."""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

import fusionblocks

ROOT = pathlib.Path(fusionblocks.__file__).parent


def _type_checking_imports(path: pathlib.Path, package: str) -> dict[str, str]:
    tree = ast.parse(path.read_text())
    (block,) = [n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING"]
    found: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names:
            found[alias.name] = f"{package}.{node.module}"
    return found


@pytest.mark.parametrize("package", ["fusionblocks", "fusionblocks.train"])
def test_every_lazy_name_is_typed_listed_and_importable(package: str) -> None:
    module = importlib.import_module(package)
    lazy = {name: (target if target.startswith("fusionblocks") else f"{package}.{target}")
            for name, target in module._LAZY.items()}
    path = ROOT / "__init__.py" if package == "fusionblocks" else ROOT / "train" / "__init__.py"
    assert _type_checking_imports(path, package) == lazy
    assert set(lazy) <= set(module.__all__) and len(module.__all__) == len(set(module.__all__))
    for name in module.__all__:
        assert getattr(module, name) is not None, name
