"""Each handler checks once: one that loads its record through a `get_*_or_403` loader is
decorated with `@login_required` alone (the loader checks the role, then the record), and
one without a record keeps `@require(action)`. A handler with neither would be open to
every signed-in role."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "programme"
CHECKED = ("diagnostics", "deployment", "network")
MODULES = sorted(p for domain in CHECKED for p in (ROOT / domain).glob("*views.py"))


def _decorator_names(node: ast.FunctionDef) -> set[str]:
    names = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Attribute):
            names.add(target.attr)
    return names


def _is_route(node: ast.FunctionDef) -> bool:
    return bool(_decorator_names(node) & {"get", "post", "route"})


def _loaders(node: ast.FunctionDef) -> list[str]:
    return [
        call.func.id
        for call in ast.walk(node)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id.startswith("get_")
        and call.func.id.endswith("_or_403")
    ]


def _handlers():
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and _is_route(node):
                yield pytest.param(node, id=f"{path.parent.name}/{path.name}:{node.name}")


def test_modules_are_found():
    assert len(MODULES) >= len(CHECKED)


@pytest.mark.parametrize("handler", list(_handlers()))
def test_a_handler_checks_once(handler: ast.FunctionDef):
    decorators = _decorator_names(handler)
    if _loaders(handler):
        assert "login_required" in decorators and "require" not in decorators
    else:
        assert "require" in decorators and "login_required" not in decorators
