"""The structure the README promises: scripts and benchmarks import the installed project, not a patched path."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for folder in ("explorer", "harness", "benchmarks", "scripts", "tests") for p in (ROOT / folder).rglob("*.py"))


def test_nothing_edits_sys_path():
    patching = [str(p.relative_to(ROOT)) for p in SOURCES
                if re.search(r"sys\.path\.(insert|append)\(|sys\.path\s*=", p.read_text())]
    assert not patching, f"{patching} edit sys.path: install the project (README) and run scripts as python -m <module>"


VIEWS = ("map_view", "sliders", "interpolate", "my_image", "attribute_view", "samples", "model_card")


def module_imports(path: Path, *, top_level_only: bool) -> set[str]:
    """The explorer modules ``path`` imports (``from explorer.app import x`` counts as explorer.app.x)."""
    import ast

    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("explorer")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("explorer"):
            found |= {f"{node.module}.{alias.name}" if (ROOT / "/".join(f"{node.module}.{alias.name}".split("."))).with_suffix(".py").is_file()
                      else node.module for alias in node.names}
    return found


def explorer_modules() -> dict[str, Path]:
    return {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
            for p in (ROOT / "explorer").rglob("*.py")}


def test_no_view_imports_another_view():
    for view in VIEWS:
        imported = module_imports(ROOT / "explorer" / "app" / f"{view}.py", top_level_only=False)
        others = sorted(i for i in imported if i.rsplit(".", 1)[-1] in VIEWS and i.rsplit(".", 1)[-1] != view)
        assert not others, f"explorer/app/{view}.py imports the view(s) {others}: share session.py or state.py instead"


def test_no_import_circle_in_the_package():
    modules = explorer_modules()
    graph = {name: {i for i in module_imports(path, top_level_only=True) if i in modules and i != name}
             for name, path in modules.items()}

    def circle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return trail + [start]
                if nxt not in trail:
                    stack.append((nxt, trail + [nxt]))
        return None

    circles = [c for c in (circle_from(m) for m in sorted(graph)) if c]
    assert not circles, circles[0]


def test_the_projection_is_asked_not_compared_by_name():
    """Only explorer/projection.py may compare a map's key ('pca', 'tsne', 'umap', 'latent')."""
    key = r"""["'](pca|tsne|umap|latent)["']"""
    comparison = re.compile(rf"""(==|!=|\bin)\s*\(?{key}|{key}\s*(==|!=)|\bif\s+\w+\s+in\s+\(\s*{key}""")
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in (ROOT / "explorer").rglob("*.py") if p.name != "projection.py"
                 for n, line in enumerate(p.read_text().splitlines(), 1) if comparison.search(line)]
    assert not offenders, offenders


def test_the_page_imports_without_torch_so_the_map_paints_first():
    """torch takes ~0.8 s to import: the page's modules leave it to the first use of a model (after the map)."""
    import subprocess
    import sys

    code = "import sys, explorer.app.main; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.stdout.strip() == "False", result.stderr
