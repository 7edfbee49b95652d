"""What the code imports is what pyproject.toml declares, each with a lower
bound that the installed version meets: a module imported but not declared
works on this machine and breaks the next `pip install -e .`."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
RUNTIME = [Requirement(line) for line in PROJECT["dependencies"]]
TESTING = [Requirement(line) for line in PROJECT["optional-dependencies"]["test"]]
LOWER_BOUND = {">=", "~=", "=="}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_top_level_names(files) -> dict[str, str]:
    """Absolute imports of the files: top-level module name → a file that imports it."""
    found: dict[str, str] = {}
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def undeclared(files, declared: list[Requirement], own: set[str]) -> list[str]:
    distributions = packages_distributions()
    names = {canonical(requirement.name) for requirement in declared}
    problems = []
    for module, where in sorted(imported_top_level_names(files).items()):
        if module in sys.stdlib_module_names or module in own or module == "__future__":
            continue
        providers = {canonical(dist) for dist in distributions.get(module, [])}
        if not providers:
            problems.append(f"{module} (imported in {where}) is not installed from any distribution")
        elif not providers & names:
            problems.append(f"{module} (imported in {where}) comes from {sorted(providers)}, not declared")
    return problems


def test_every_import_in_the_package_is_a_declared_dependency():
    files = [*sorted((ROOT / "signatory").rglob("*.py")), ROOT / "app.py"]
    assert len(files) > 20, "the package's modules were found"
    assert undeclared(files, RUNTIME, own={"signatory"}) == []


def test_every_import_in_the_tests_is_declared_for_running_or_testing():
    files = sorted((ROOT / "tests").rglob("*.py"))
    local = {path.stem for path in files} | {"tests", "e2e", "benchmarks"}
    assert undeclared(files, RUNTIME + TESTING, own={"signatory", *local}) == []


@pytest.mark.parametrize("requirement", RUNTIME + TESTING, ids=str)
def test_every_declared_dependency_has_a_lower_bound_the_installed_version_meets(requirement):
    operators = {spec.operator for spec in requirement.specifier}
    assert operators & LOWER_BOUND, f"{requirement} has no lower bound"
    installed = version(requirement.name)
    assert requirement.specifier.contains(installed, prereleases=True), f"{requirement.name} {installed} is installed"


def test_reportlab_is_held_at_the_version_with_the_shaping_we_build_on():
    """ReportLab 4.4 is the first whose HarfBuzz shaping has what
    signatory.pdf.shaping uses (4.2 brought the paragraph features, 4.3 had
    no shapeStr), and the bidi extras pull an older one: the floor is
    explicit."""
    [reportlab] = [requirement for requirement in RUNTIME if canonical(requirement.name) == "reportlab"]
    assert not reportlab.specifier.contains("4.3.9") and reportlab.specifier.contains("4.4.0"), str(reportlab)
