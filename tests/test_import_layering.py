"""Imports go at module level, so the package's layering is visible and no function-level import hides a cycle.

Two exceptions, both for start-up time, never for a cycle: the heavy optional back-ends (``timm``, ``open_clip``,
TensorBoard) are imported where a model is built, and the command line (``fusionblocks/cli/``) imports what pulls
in torch inside its subcommands, so that ``fusionblocks --help`` and ``fusionblocks list`` start in a fraction of a
second.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

PACKAGE = Path(__file__).resolve().parents[1] / "fusionblocks"
LAZY_BACKENDS = ("timm", "open_clip", "torch.utils.tensorboard")
#: what the command line may import inside a subcommand although it does not pull in torch (about 60 ms)
CLI_SLOW_IMPORTS = ("tqdm",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: set[str]) -> list[str]:
    """The modules an import statement loads (for ``from pkg import name``: ``pkg``, and ``pkg.name`` if a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    return [base] + [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(node: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement under ``node`` (``TYPE_CHECKING`` blocks skipped), and whether a function holds it."""
    for child in ast.iter_child_nodes(node):
        if _is_type_checking_block(child):
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, in_function
        yield from _imports(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _scan() -> tuple[dict[str, set[str]], list[tuple[str, int, list[str]]]]:
    """Module-level imports per module, and every import inside a function as ``(module, line, targets)``."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    top: dict[str, set[str]] = {module: set() for module in files}
    inner: list[tuple[str, int, list[str]]] = []
    for module, path in files.items():
        for node, in_function in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            targets = _targets(module, path.name == "__init__.py", node, known)
            if in_function:
                inner.append((module, node.lineno, targets))
            else:
                top[module].update(targets)
    return top, inner


def _loads(top: dict[str, set[str]], module: str) -> set[str]:
    """Everything importing ``module`` loads at module level (its parent packages included)."""
    seen: set[str] = set()
    stack = [module]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        stack.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        stack.extend(top.get(name, ()))
    return seen


def _pulls_in_torch(top: dict[str, set[str]], target: str) -> bool:
    return any(name == "torch" or name.startswith(("torch.", "safetensors.")) for name in _loads(top, target))


def test_function_level_imports_are_only_heavy_backends_or_cli_start_up() -> None:
    top, inner = _scan()
    wrong = []
    for module, line, targets in inner:
        target = targets[-1]  # ``from pkg import submodule``: the submodule
        if target.startswith(LAZY_BACKENDS):
            continue
        where = f"{module}:{line} imports {target}"
        if target.partition(".")[0] in sys.stdlib_module_names:
            wrong.append(f"{where} (standard library: import it at module level)")
        elif not module.startswith("fusionblocks.cli"):
            wrong.append(f"{where} (import it at module level; a cycle is a layering bug to fix)")
        elif any(module in _loads(top, t) for t in targets):
            wrong.append(f"{where} (this hides an import cycle)")
        elif not (target.startswith(CLI_SLOW_IMPORTS) or _pulls_in_torch(top, target)):
            wrong.append(f"{where} (it does not pull in torch, so it costs the command line nothing at module level)")
    assert not wrong, "\n".join(wrong)


def test_the_scan_sees_function_level_imports_and_cycles() -> None:
    top, inner = _scan()
    assert ("fusionblocks.text.clip_encoder", ["open_clip"]) in [(m, t) for m, _, t in inner]
    assert any(m == "fusionblocks.cli.train" and t[-1] == "fusionblocks.train.trainer" for m, _, t in inner)
    assert _pulls_in_torch(top, "fusionblocks.train.trainer") and not _pulls_in_torch(top, "fusionblocks.registry")
    assert "fusionblocks.layers" in _loads(top, "fusionblocks.ffgan.builder")
    assert "fusionblocks.train.trainer" not in _loads(top, "fusionblocks.ffgan")  # the builder never imports train/


def test_the_command_line_starts_without_torch() -> None:
    code = "import sys, fusionblocks.cli as c; c.build_parser(); print('torch' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"
