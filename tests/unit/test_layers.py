"""Dependencies point one way: the import walk.

Every module under `programme/` is parsed with `ast`; every import counts, including the
ones inside functions (a lazy import is still a dependency) and under `TYPE_CHECKING`.
Each module belongs to a layer (`LAYERS`, longest prefix wins). A module may import its
own layer and the layers below, never a layer above; and no import cycle may join modules
or packages, whatever their layers. The table is the one of docs/architecture.md.

`KNOWN_CLIMBS` lists the imports still waiting to be moved (importing module, imported
module): they are left out of both checks, and an entry that no longer climbs nor closes a
cycle fails the test, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "programme"

# Bottom to top. Names are relative to `programme`; "" is the app factory
# (`programme/__init__.py`). A name covers its submodules unless one has its own entry.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",  # infrastructure and the web toolkit: knows no domain
        (
            "config",
            "database",
            "extensions",
            "errors",
            "weeks",
            "observability",
            "uploads",
            "admission",
            "statistics",
            "audit",  # the mechanism (programme/audit/__init__.py); its screen is higher
            "web",  # words, wording, formatting, forms, parsing, htmx, layout filters, health
            "reports.cache",  # the cache mechanism (stores, locks, refresh): no domain
        ),
    ),
    ("auth", ("auth", "audit.views")),
    ("jobs", ("jobs",)),
    ("network", ("network",)),
    ("kpis, diagnostics", ("kpis", "diagnostics")),
    ("feedback", ("feedback",)),
    ("pilots", ("pilots",)),
    ("deployment", ("deployment",)),
    ("value", ("value",)),
    ("reports", ("reports",)),
    ("app", ("", "models", "api", "home", "demo")),
]

# Imports that still climb or close a cycle, being moved: (importing, imported). Only ever
# remove entries.
KNOWN_CLIMBS: set[tuple[str, str]] = {}


@dataclass(frozen=True)
class Import:
    source: str  # importing module, relative to programme ("" = the package itself)
    target: str
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {_dotted(self.source)} → {_dotted(self.target)}"


def _dotted(name: str) -> str:
    return f"programme.{name}" if name else "programme"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _relative(absolute: str) -> str | None:
    """`programme.a.b` → `a.b`; None outside the package."""
    if absolute == "programme":
        return ""
    if absolute.startswith("programme."):
        return absolute.removeprefix("programme.")
    return None


def _existing(name: str) -> str:
    """The module an import reaches: the name itself, else its closest existing parent."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    here = str(path.relative_to(ROOT))
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [r for alias in node.names if (r := _relative(alias.name)) is not None]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ["programme", *module.split(".")] if module else ["programme"]
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                absolute = ".".join(base + ([node.module] if node.module else []))
            else:
                absolute = node.module or ""
            parent = _relative(absolute)
            if parent is None:
                continue
            for alias in node.names:
                child = f"{parent}.{alias.name}" if parent else alias.name
                targets.append(child if child in MODULES else parent)
        for target in targets:
            target = _existing(target)
            if target != module:
                found.append(Import(module, target, here, node.lineno))
    return found


IMPORTS = sorted(
    {imp for module, path in MODULES.items() for imp in _imports(module, path)},
    key=lambda imp: (imp.path, imp.line, imp.target),
)


def _entry(module: str) -> tuple[int, str] | None:
    """(layer index, prefix) of the LAYERS entry a module falls under: the longest prefix."""
    best = None
    for index, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if prefix == "":
                matches = module == ""
            else:
                matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > len(best[1])):
                best = (index, prefix)
    return best


def _layer(module: str) -> int | None:
    entry = _entry(module)
    return None if entry is None else entry[0]


def _unit(module: str) -> str:
    """The nodes of the cycle check between packages: a package, or a module with its own
    entry in LAYERS (`audit.views`, `reports.cache`)."""
    entry = _entry(module)
    return module if entry is None else entry[1]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _graphs(skip: set[tuple[str, str]]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    modules: dict[str, set[str]] = defaultdict(set)
    packages: dict[str, set[str]] = defaultdict(set)
    for imp in IMPORTS:
        if (imp.source, imp.target) in skip:
            continue
        modules[imp.source].add(imp.target)
        if _unit(imp.source) != _unit(imp.target):
            packages[_unit(imp.source)].add(_unit(imp.target))
    return modules, packages


def _describe(component: list[str], skip: set[tuple[str, str]], package_level: bool) -> str:
    """The cycle and its imports that do not go down a layer (a cycle has at least one)."""
    inside = set(component)
    node = _unit if package_level else (lambda module: module)
    lines = [
        f"    {imp}"
        for imp in IMPORTS
        if (imp.source, imp.target) not in skip
        and node(imp.source) in inside
        and node(imp.target) in inside
        and node(imp.source) != node(imp.target)
        and (_layer(imp.target) or 0) >= (_layer(imp.source) or 0)
    ]
    return " ↔ ".join(_dotted(m) for m in component) + "\n" + "\n".join(lines)


# --- the tests -----------------------------------------------------------------------------


def test_the_walk_sees_the_code():
    assert len(MODULES) > 100
    assert any(imp.source == "" for imp in IMPORTS)  # the app factory's lazy imports


def test_every_module_has_a_layer():
    missing = sorted(_dotted(m) for m in MODULES if _layer(m) is None)
    assert not missing, f"place these modules in LAYERS ({__file__}): {missing}"


def test_no_import_climbs_to_a_higher_layer():
    climbs = []
    for imp in IMPORTS:
        if (imp.source, imp.target) in KNOWN_CLIMBS:
            continue
        source, target = _layer(imp.source), _layer(imp.target)
        if source is not None and target is not None and target > source:
            climbs.append(f"{imp} (layer {LAYERS[source][0]} → {LAYERS[target][0]})")
    assert not climbs, "imports that climb to a higher layer (move the code instead):\n" + (
        "\n".join(climbs)
    )


def test_no_import_cycle_between_modules():
    modules, _packages = _graphs(KNOWN_CLIMBS)
    cycles = _cycles(modules)
    assert not cycles, "import cycles between modules:\n" + "\n".join(
        _describe(c, KNOWN_CLIMBS, package_level=False) for c in cycles
    )


def test_no_import_cycle_between_packages():
    _modules_graph, packages = _graphs(KNOWN_CLIMBS)
    cycles = _cycles(packages)
    assert not cycles, "import cycles between packages:\n" + "\n".join(
        _describe(c, KNOWN_CLIMBS, package_level=True) for c in cycles
    )


def test_known_climbs_only_shrink():
    """An allowlisted import that is gone, or that no longer climbs nor closes a cycle,
    must leave KNOWN_CLIMBS."""
    present = {(imp.source, imp.target) for imp in IMPORTS}
    stale = []
    for source, target in sorted(KNOWN_CLIMBS):
        if (source, target) not in present:
            stale.append(f"{_dotted(source)} → {_dotted(target)}: no such import any more")
            continue
        climbs = (_layer(target) or 0) > (_layer(source) or 0)
        others = KNOWN_CLIMBS - {(source, target)}
        modules, packages = _graphs(others)
        closes_cycle = any(source in c and target in c for c in _cycles(modules)) or any(
            _unit(source) in c and _unit(target) in c for c in _cycles(packages)
        )
        if not climbs and not closes_cycle:
            stale.append(f"{_dotted(source)} → {_dotted(target)}: neither climbs nor cycles")
    assert not stale, "remove from KNOWN_CLIMBS:\n" + "\n".join(stale)


def test_the_check_catches_a_climb_and_a_cycle():
    """The walk itself: a lazy climbing import and a two-module cycle are found."""
    source = "def f():\n    from programme.reports.services import dashboard\n"
    tree = ast.parse(source)
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    target = _existing(_relative(node.module))
    assert _layer(target) > _layer("network.views")
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_settings_spell_the_network_vocabularies():
    """`config` is below `network`, so it spells out the keys its settings are checked
    against; they must stay the network's."""
    from programme.config import CHANNEL_KEYS, SITE_TYPE_KEYS
    from programme.network.models import CHANNELS, SITE_TYPES

    assert tuple(CHANNELS) == CHANNEL_KEYS
    assert tuple(SITE_TYPES) == SITE_TYPE_KEYS
