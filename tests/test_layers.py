"""The layers of docs/ARCHITECTURE.md hold: every hgym_core module imports only its own layer and
the ones above it, and nothing in hgym_core imports Streamlit, app.py or pages/.

Imports are read from the source (ast), also those inside functions, so a lazy import counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# docs/ARCHITECTURE.md, "Layers", top to bottom. A module belongs to the longest prefix that names it.
LAYERS = [
    ("errors, device", ["hgym_core.errors", "hgym_core.device"]),
    ("data/", ["hgym_core.data"]),
    ("gan/ settings", ["hgym_core.gan.config", "hgym_core.gan.events"]),
    ("runs/ on disk", ["hgym_core.runs.atomic", "hgym_core.runs.folder", "hgym_core.runs.info",
                       "hgym_core.runs.lock", "hgym_core.runs.patients", "hgym_core.runs.sources",
                       "hgym_core.runs.listing"]),
    ("evaluation/", ["hgym_core.evaluation"]),
    ("gan/ training", ["hgym_core.gan"]),
    ("synthesizer", ["hgym_core.synthesizer"]),
    ("runs/ in the background", ["hgym_core.runs"]),
    ("plots/", ["hgym_core.plots"]),
    ("reports/", ["hgym_core.reports"]),
    ("cli/ and the public names", ["hgym_core.cli", "hgym_core.__main__", "hgym_core"]),
]
FORBIDDEN = ("streamlit", "app", "pages")   # the dashboard's; hgym_core never imports them


def modules() -> dict[str, Path]:
    found = {}
    for path in (ROOT / "hgym_core").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def layer_of(module: str) -> int:
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    assert best is not None, f"{module} is in no layer: add it to docs/ARCHITECTURE.md and to LAYERS here"
    return best[0]


def imports(path: Path, known: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported module, line) for every absolute import in the file; `from a import b` names a.b
    when b is a module of the package."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.append((child if child in known else node.module, node.lineno))
    return found


def test_every_module_has_a_layer():
    for module in modules():
        layer_of(module)


def test_each_layer_imports_only_itself_and_the_layers_above():
    known = modules()
    against = []
    for module, path in sorted(known.items()):
        for target, line in imports(path, known):
            if target.split(".")[0] != "hgym_core":
                continue
            if layer_of(target) > layer_of(module):
                against.append(f"{path.relative_to(ROOT)}:{line}: {module} ({LAYERS[layer_of(module)][0]}) "
                               f"imports {target} ({LAYERS[layer_of(target)][0]}), a layer below it")
    assert not against, "\n".join(against)


def test_hgym_core_never_imports_the_dashboard():
    known = modules()
    found = [f"{path.relative_to(ROOT)}:{line}: imports {target}"
             for path in known.values() for target, line in imports(path, known)
             if target.split(".")[0] in FORBIDDEN]
    assert not found, "\n".join(found)


def test_the_checker_sees_an_import_against_the_layers(tmp_path):
    """The check itself: an evaluation module importing plots (the old html_report) is caught."""
    source = tmp_path / "bad.py"
    source.write_text("def f():\n    from hgym_core import plots\n", encoding="utf-8")
    known = modules()
    (target, line), = imports(source, known)
    assert (target, line) == ("hgym_core.plots", 2)
    assert layer_of(target) > layer_of("hgym_core.evaluation.report")
