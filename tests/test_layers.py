"""ARCHITECTURE.md's layer rules, checked on the source instead of trusted.

Data flows one way (host -> doctor; spec + host -> plan -> render; cluster only for apply, verify
and the operator) and a layer never imports one to its right. The shared vocabulary modules
(errors, names and name_fields, modes, labels) and the package root may be imported from anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dualnet"

VOCABULARY = {"errors", "names", "name_fields", "modes", "labels", "inputs", "quantity", "__init__"}

# What each layer may import besides the vocabulary. Anything else is a new dependency and must
# be argued for in ARCHITECTURE.md before it is added here.
ALLOWED: dict[str, set[str]] = {
    "host": set(),
    "parse": {"host"},
    "doctor": {"host"},
    "spec": set(),
    "plan": {"host", "spec"},
    "render": {"plan", "spec", "host"},
    # render.reader: render output read back; host: the GID index and discover on `lab --vm`'s
    # real sysfs, each derived in one place (host.roce, host.discover), not copied into lab
    # doctor and prepare: `lab --vm` runs doctor on the guest's real RDMA tree and prepare's
    # steps in the guest (through a Host whose commands and reads go to the VM), judging both
    # against a real kernel; lab never reimplements a rule or a step
    "lab": {"parse", "render", "host", "doctor", "prepare"},
    "prepare": {"host", "plan"},
    "cluster": {"render"},  # render.reader only: the objects it applies
    "verify": {"cluster", "host", "parse", "plan"},
    "operator": {"cluster", "host", "doctor", "plan", "render", "spec"},
    # reads everything a person looks at: node facts, findings, the plan (and render's host
    # step commands), bench results; writes nothing itself (the CLI writes the page)
    "report": {"host", "doctor", "plan", "render", "spec", "verify"},
    "cli": {"host", "parse", "doctor", "spec", "plan", "render", "lab", "prepare", "cluster",
            "verify", "operator", "report"},
}

# The Kubernetes client is used for calls only inside cluster/; elsewhere at most its client
# type is named in signatures (and the CLI translates its exceptions into user errors).
API_LIBRARIES = {"lightkube", "kopf"}
API_TYPES_ALLOWED = {"verify": {"AsyncClient"}, "operator": {"AsyncClient"}}


def _layer(path: Path) -> str:
    rel = path.relative_to(SRC).parts
    return rel[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


SOURCES = sorted(p for p in SRC.rglob("*.py") if _layer(p) not in VOCABULARY)


def test_every_layer_is_known() -> None:
    assert {_layer(p) for p in SOURCES} <= set(ALLOWED)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_layer_rules(path: Path) -> None:
    layer = _layer(path)
    for module, names in _imports(path):
        parts = module.split(".")
        if parts[0] == "dualnet" and len(parts) > 1:
            target = parts[1]
            assert target == layer or target in VOCABULARY or target in ALLOWED[layer], (
                f"{path.relative_to(SRC)} imports {module}: {layer} may not depend on {target}"
            )
        if parts[0] in API_LIBRARIES and layer not in ("cluster", "cli"):
            allowed = API_TYPES_ALLOWED.get(layer, set())
            if layer == "operator" and parts[0] == "kopf":
                continue  # the operator runtime itself
            assert names and set(names) <= allowed, (
                f"{path.relative_to(SRC)} imports {module} {names}: only dualnet.cluster talks "
                "to the Kubernetes API"
            )


# --- the public surface -------------------------------------------------------------------------

# The packages that declare the API a user may rely on (tests/test_public_api.py pins the names).
PUBLIC_PACKAGES = [
    "", "host", "doctor", "plan", "render", "lab", "prepare", "parse", "cluster", "verify",
    "operator",
]
NOT_API = {"TYPE_CHECKING", "annotations"}


def _init(package: str) -> Path:
    return SRC / package / "__init__.py" if package else SRC / "__init__.py"


def _declared_all(tree: ast.Module) -> list[str] | None:
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__"
                                                 for t in node.targets)):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list)
            return [str(v) for v in value]
    return None


def _bound_at_top(tree: ast.Module) -> set[str]:
    """Names a module binds at its top level (imports, defs, assignments), where `if` blocks
    (the TYPE_CHECKING imports) count too."""
    names: set[str] = set()
    body: list[ast.stmt] = list(tree.body)
    while body:
        node = body.pop()
        if isinstance(node, ast.If):
            body.extend(node.body + node.orelse)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


@pytest.mark.parametrize("package", PUBLIC_PACKAGES, ids=lambda p: p or "dualnet")
def test_a_public_package_exports_only_what_it_declares(package: str) -> None:
    tree = ast.parse(_init(package).read_text(encoding="utf-8"))
    declared = _declared_all(tree)
    assert declared is not None, f"{_init(package).relative_to(SRC)} declares no __all__"
    public = {n for n in _bound_at_top(tree) if not n.startswith("_")} - NOT_API
    assert public == set(declared) - {"__version__"}, (
        f"{_init(package).relative_to(SRC)} binds public names it does not export (or exports "
        "names it does not bind): make them private or add them to __all__"
    )


CLI_SOURCES = sorted((SRC / "cli").rglob("*.py"))


@pytest.mark.parametrize("path", CLI_SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_cli_uses_no_private_internals_of_lower_layers(path: Path) -> None:
    exported = {p: set(_declared_all(ast.parse(_init(p).read_text(encoding="utf-8"))) or ())
                for p in PUBLIC_PACKAGES if p}
    for module, names in _imports(path):
        parts = module.split(".")
        if parts[0] != "dualnet" or len(parts) < 2 or parts[1] in ("cli", *VOCABULARY):
            continue
        where = f"{path.relative_to(SRC)} imports {module} {names}"
        assert not any(p.startswith("_") for p in parts), f"{where}: a private module"
        assert not any(n.startswith("_") for n in names), f"{where}: a private name"
        if len(parts) == 2 and parts[1] in exported:
            assert set(names) <= exported[parts[1]], f"{where}: not in its __all__"


# --- the test tree ------------------------------------------------------------------------------

REPO = SRC.parents[1]
TEST_SOURCES = sorted(p for tree in ("tests", "benchmarks", "testsupport")
                      for p in (REPO / tree).rglob("*.py"))


def _is_test_module(module: str) -> bool:
    last = module.split(".")[-1]
    return last == "conftest" or last.startswith("test_")


@pytest.mark.parametrize("path", TEST_SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_tests_share_helpers_not_conftests_or_test_modules(path: Path) -> None:
    # A helper imported from a conftest or a test module drags that file's fixtures and tests into
    # the importer (the `noqa: F401` fixture imports of before); shared code lives in
    # tests/helpers.py, an area's data module, or testsupport/ (what benchmarks/ use as well).
    rel = path.relative_to(REPO)
    for module, _names in _imports(path):
        where = f"{rel} imports {module}"
        if module.split(".")[0] == "tests":
            assert not _is_test_module(module), f"{where}: import from tests/helpers.py instead"
            assert rel.parts[0] == "tests", f"{where}: only tests/ may; use testsupport/"


CONFTESTS = sorted((REPO / "tests").rglob("conftest.py"))
PYTEST_HOOK = "pytest_"


def _is_fixture(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Attribute) and target.attr == "fixture":
            return True
    return node.name.startswith(PYTEST_HOOK)


@pytest.mark.parametrize("path", CONFTESTS, ids=lambda p: str(p.relative_to(REPO)))
def test_a_conftest_holds_fixtures_only(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        rel = path.relative_to(REPO)
        assert not isinstance(node, ast.ClassDef), (
            f"{rel} defines class {node.name}: helpers go to tests/helpers.py")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert _is_fixture(node), (
                f"{rel} defines {node.name}(), not a fixture: helpers go to tests/helpers.py")
