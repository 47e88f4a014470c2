"""Each handler checks once: one that loads its record through a `get_*_or_403` loader is
decorated with `@login_required` alone (the loader checks the role, then the record), and
one without a record keeps `@require(action)`. A handler with neither would be open to
every signed-in role: only the public pages and a person's own account settings are.
The API's handlers check through their `@operation(action=...)` and `load(...)`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "programme"
MODULES = sorted(
    p
    for p in ROOT.rglob("*.py")
    if p.parent.name != "api" and re.search(r"^@\w+\.(get|post|route)\(", p.read_text(), re.M)
)
CHECKED = tuple(sorted({p.parent.name for p in MODULES}))
# Open to anyone: signing in and out, the language switch, a pilot's public pulse survey
# (its own token), and the health checks.
PUBLIC = {
    "auth/views.py:login",
    "auth/views.py:logout",
    "auth/views.py:set_language",
    "pilots/views.py:pulse_public",
    "web/views.py:healthz",
    "web/views.py:readyz",
}
# Every signed-in person, on their own account only.
OWN_ACCOUNT = {
    "home/account.py:show",
    "home/account.py:language",
    "home/account.py:password",
    "home/account.py:logout_everywhere",
    "home/views.py:digest_settings",
    "home/views.py:digest_save",
}


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
def test_a_handler_checks_once(handler: ast.FunctionDef, request):
    decorators = _decorator_names(handler)
    name = request.node.callspec.id
    if name in PUBLIC:
        assert not decorators & {"require", "login_required"} and not _loaders(handler)
    elif name in OWN_ACCOUNT or _loaders(handler):
        assert "login_required" in decorators and "require" not in decorators
    else:
        assert "require" in decorators and "login_required" not in decorators


def test_loaders_live_in_the_domains_access_modules():
    """Views and the API call the same loaders: each domain's `access.py` holds them."""
    elsewhere = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
        for path in sorted(ROOT.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef)
        and node.name.startswith("get_")
        and node.name.endswith("_or_403")
        and path.name != "access.py"
    ]
    assert not elsewhere, "loaders outside an access.py:\n" + "\n".join(elsewhere)
