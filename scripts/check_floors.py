"""Check that the lower bounds in pyproject.toml resolve together: `pip install --dry-run` with every floor pinned.

Cheap (nothing is installed) and honest about what it proves: pip finds a set of distributions for
Python's version here that satisfies every floor at once. It does not run the tests on those versions;
a floor raised for a known reason (e.g. sqlmodel 0.0.45 for UTCDateTime) is checked by
tests/test_packaging.py. Usage: python scripts/check_floors.py [--extra postgres] [--extra dev]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pinned_floors(requirements: list[str]) -> list[str]:
    """Each requirement with a `>=X` bound rewritten to `==X.*` (X's series: 3.10 means 3.10.x); others kept."""
    pinned = []
    for requirement in requirements:
        spec = requirement.split(";")[0].strip()
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", spec)
        if match is None:
            raise SystemExit(f"cannot read requirement {requirement!r}")
        name, bounds = match.groups()
        floor = re.search(r">=\s*([^,\s]+)", bounds)
        pinned.append(f"{name}=={floor.group(1)}.*" if floor else spec)  # the floor's release series
    return pinned


def main() -> int:
    """Run pip's resolver on the floors; exit with its status."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--extra", action="append", default=[], help="also pin this extra's floors")
    args = parser.parse_args()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in args.extra:
        requirements += project["optional-dependencies"][extra]
    pins = pinned_floors(requirements)
    print("floors:", " ".join(pins))
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed", *pins]
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
