"""Checks, from the source (the AST, nothing is imported), that the package's modules import
only downward: no module imports another that imports it back (directly or around a longer
circle), none imports a layer above its own, and every module is in a layer (``LAYERS``).

    python -m tinygrad_seq.dev.imports      # prints what it finds; exit status 1 if anything

Every import counts, also one inside a function (a lazy import is still a dependency); only
``if TYPE_CHECKING:`` blocks are left out. Importing ``a.b.c`` depends on the module ``a.b.c``
and, from a module outside the package ``a.b``, on that package too: Python runs its
``__init__`` first. (From inside ``a.b`` it is already running, which is how a package's
``__init__`` may re-export its own modules.)
"""

from __future__ import annotations

import ast
import pathlib
import sys

PACKAGE = pathlib.Path(__file__).resolve().parent.parent
# the layers, bottom first, by the first name under the package; a module may import its own
# layer and those below. The package's __init__ (the public names) and dev/ stand outside.
LAYERS = (("backend", "cuda"), ("autograd",), ("kernels",), ("ops",), ("tensor",),
          ("gradcheck", "serialization"), ("nn", "optim"), ("data", "viz"), ("app",))
OUTSIDE = (None, "__main__", "dev")  # the package's __init__, ``python -m``, these tools
_TYPE_CHECKING = ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def modules(root: pathlib.Path = PACKAGE) -> dict:
    """{dotted module name: path} for every .py file of the package at ``root``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imported(tree, name, is_package, known):
    """The package modules named by the import statements of ``tree`` (module ``name``)."""
    skipped = set()  # the bodies of `if TYPE_CHECKING:` (their else branches do run)
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in _TYPE_CHECKING:
            skipped.update(id(n) for part in node.body for n in ast.walk(part))
    here = name if is_package else name.rpartition(".")[0]  # what a relative import starts from
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in known:
                    yield target  # from package import module
                elif base in known:
                    yield base


def graph(root: pathlib.Path = PACKAGE) -> dict:
    """{module: set of package modules it depends on} (see the module docstring)."""
    known = modules(root)
    edges = {}
    for name, path in known.items():
        deps = set()
        tree = ast.parse(path.read_text(), str(path))
        for target in _imported(tree, name, path.name == "__init__.py", known):
            deps.add(target)
            parts = target.split(".")
            for k in range(1, len(parts)):  # the packages above it whose __init__ runs first
                package = ".".join(parts[:k])
                if package in known and not (name == package or name.startswith(package + ".")):
                    deps.add(package)
        deps.discard(name)
        edges[name] = deps
    return edges


def cycles(edges: dict) -> list:
    """The strongly connected groups of more than one module (Tarjan's algorithm, written as a
    loop with an explicit stack), each a sorted list of names: every module of a group
    imports every other one, around some circle."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def circle(group, edges):
    """A shortest circle through the group's first module, ``[a, b, ..., a]``."""
    group, first = set(group), min(group)
    paths, frontier = {first: [first]}, [first]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(edges[node] & group):
                if child == first:
                    return paths[node] + [first]
                if child not in paths:
                    paths[child] = paths[node] + [child]
                    nxt.append(child)
        frontier = nxt
    return sorted(group)


def _top(module: str):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layer(module: str):
    """The index in LAYERS of a module's layer; None for those OUTSIDE the layers."""
    return next((i for i, names in enumerate(LAYERS) if _top(module) in names), None)


def unplaced(edges: dict) -> list:
    """Modules in no layer that should be in one (a new top-level module or package)."""
    return sorted(m for m in edges if layer(m) is None and _top(m) not in OUTSIDE)


def upward(edges: dict) -> list:
    """(importer, imported) pairs where a module imports a layer above its own."""
    return sorted((a, b) for a, deps in edges.items() for b in deps
                  if layer(a) is not None and layer(b) is not None and layer(b) > layer(a))


def main() -> int:
    edges = graph()
    found, up, lost = cycles(edges), upward(edges), unplaced(edges)
    for group in found:
        print(f"import cycle among {len(group)} modules: {', '.join(group)}\n"
              f"  for example {' -> '.join(circle(group, edges))}")
    for a, b in up:
        print(f"{a} (layer {layer(a)}) imports {b}, a layer above (layer {layer(b)})")
    for m in lost:
        print(f"{m} is in no layer: add its top-level name to LAYERS in {__name__}")
    if not found and not up and not lost:
        print(f"no import cycles and no upward imports among the {len(modules())} modules of "
              f"{PACKAGE.name}; layers, bottom first: "
              + " < ".join("/".join(names) for names in LAYERS))
    return 1 if found or up or lost else 0


if __name__ == "__main__":
    sys.exit(main())
