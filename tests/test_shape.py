"""The shape every service keeps (docs/shape.md): pure rules, one handler map, short modules."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"intake_svc": "intake-svc", "triage_svc": "triage-svc", "sla_svc": "sla-svc",
            "oversight_svc": "oversight-svc"}
FORBIDDEN_IN_DOMAIN = ("sqlalchemy", "fastapi", "starlette", "aiokafka", "httpx")
MAX_LINES = 500


def src_of(pkg: str) -> Path:
    return ROOT / PACKAGES[pkg] / "src" / pkg


def test_no_source_module_is_over_500_lines() -> None:
    long = []
    for top in [*(ROOT / d / "src" for d in PACKAGES.values()), ROOT / "shared" / "src", ROOT / "services" / "src"]:
        for path in top.rglob("*.py"):
            if "migrations" in path.parts:
                continue
            n = len(path.read_text("utf-8").splitlines())
            if n > MAX_LINES:
                long.append(f"{path.relative_to(ROOT)}: {n}")
    assert long == []


_PROBE = """
import importlib, json, pkgutil, sys
pkg = sys.argv[1]
forbidden = tuple(sys.argv[2].split(","))
domain = importlib.import_module(pkg + ".domain")
found = {}
for info in pkgutil.walk_packages(domain.__path__, pkg + ".domain."):
    before = {m for m in sys.modules if m.split(".")[0] in forbidden}
    importlib.import_module(info.name)
    after = {m.split(".")[0] for m in sys.modules if m.split(".")[0] in forbidden} - {m.split(".")[0] for m in before}
    if after:
        found[info.name] = sorted(after)
base = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in forbidden})
print(json.dumps({"modules": found, "package": base}))
"""


@pytest.mark.parametrize("pkg", list(PACKAGES))
def test_the_domain_is_pure(pkg: str) -> None:
    """Importing the domain (and each of its modules) loads no database, web, broker or HTTP client library."""
    out = subprocess.run([sys.executable, "-c", _PROBE, pkg, ",".join(FORBIDDEN_IN_DOMAIN)], check=True,
                         capture_output=True, text=True)
    result = json.loads(out.stdout)
    assert result == {"modules": {}, "package": []}


@pytest.mark.parametrize("pkg", list(PACKAGES))
def test_one_handler_map_per_service(pkg: str) -> None:
    """`handlers` names every command and every consumed event; no `service.py` mixes them with SQL any more."""
    import importlib

    handlers = importlib.import_module(f"{pkg}.handlers")
    assert isinstance(handlers.COMMANDS, dict) and isinstance(handlers.EVENTS, dict)
    assert handlers.EVENTS or handlers.COMMANDS
    assert not (src_of(pkg) / "service.py").exists()
    others = [p.relative_to(ROOT) for p in src_of(pkg).rglob("*.py")
              if "handlers" not in p.parts and p.stem != "handlers"
              and any(line.startswith(("COMMANDS =", "EVENTS =", "COMMANDS:", "EVENTS:"))
                      for line in p.read_text("utf-8").splitlines())]
    assert others == []


_SLUG = re.compile(r'type_="([a-z0-9-]+)"')


@pytest.mark.parametrize("pkg", sorted(PACKAGES))
def test_every_problem_type_a_service_raises_resolves(pkg: str) -> None:
    """Each `type_="<slug>"` in a service's code is a registered problem type (so /problems/<slug> answers)."""
    from bancheng_shared.problem_types import COMMON

    registered = {**COMMON, **importlib.import_module(f"{pkg}.problem_types").PROBLEM_TYPES}
    used = {(m.group(1), str(path.relative_to(ROOT))) for path in src_of(pkg).rglob("*.py")
            for m in _SLUG.finditer(path.read_text("utf-8"))}
    assert used, "the scan found no problem types: the pattern no longer matches how they are raised"
    assert sorted((slug, where) for slug, where in used if slug not in registered) == []
