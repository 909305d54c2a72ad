"""The wheel holds everything read at run time; dependency floors match what the code uses.

The full check (wheel -> fresh venv -> `backlog-bridge run` and `doctor` from an empty folder) is
`.ci/wheel.sh`, a CI step: it installs torch and every dependency, minutes rather than seconds.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_the_wheel_holds_the_manifest_migrations_and_sample(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("backlog_bridge-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    needed = {
        "backlog_bridge/embed/manifest.toml",
        "backlog_bridge/data/sample_nps.csv",
        "backlog_bridge/store/migrations/env.py",
        "backlog_bridge/store/migrations/script.py.mako",
        "backlog_bridge/py.typed",
    }
    assert needed <= names, sorted(needed - names)
    templates = {
        path.relative_to(ROOT).as_posix()
        for folder in ("backlog_bridge/brief/templates", "backlog_bridge/report/templates")
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
    }
    assert any(name.endswith("report.html.j2") for name in templates) and len(templates) > 5
    assert templates <= names, sorted(templates - names)  # the HTML report cannot render without them
    migrations = {p.name for p in (ROOT / "backlog_bridge/store/migrations/versions").glob("*.py")}
    assert {f"backlog_bridge/store/migrations/versions/{name}" for name in migrations} <= names
    assert not any(name.startswith(("models/", "rules/", "tests/")) for name in names)
    metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert 'Requires-Dist: psycopg[binary]<4,>=3.2; extra == "postgres"' in text


def test_dependency_floors_cover_what_the_code_imports():
    """sqlmodel.sql.sqltypes.UTCDateTime (tables, migrations) first shipped in sqlmodel 0.0.45."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    sqlmodel = next(dep for dep in project["dependencies"] if dep.startswith("sqlmodel"))
    assert sqlmodel.startswith("sqlmodel>=0.0.45,")
    uses = [p for p in (ROOT / "backlog_bridge/store").rglob("*.py") if "UTCDateTime" in p.read_text(encoding="utf-8")]
    assert uses, "the floor's reason is gone: revisit it"
    assert not any(dep.startswith("psycopg") for dep in project["dependencies"])  # an extra: SQLite users skip it
    assert any(dep.startswith("psycopg[binary]") for dep in project["optional-dependencies"]["postgres"])
    # Imported directly by the report and the brief's HTML emitter, so declared, not left to a transitive pin.
    for module, name in (("jinja2", "jinja2"), ("markupsafe", "markupsafe")):
        assert any(f"import {module}" in p.read_text(encoding="utf-8") or f"from {module}" in p.read_text(encoding="utf-8")
                   for p in (ROOT / "backlog_bridge").rglob("*.py"))  # fmt: skip
        assert any(dep.lower().startswith(name) for dep in project["dependencies"]), name


def test_a_postgresql_url_without_the_driver_names_the_extra(tmp_path):
    """A SQLite-only install (no `[postgres]` extra) pointed at PostgreSQL: one line naming the extra, exit 1."""
    hide_driver = (
        "import sys; sys.modules['psycopg'] = None; "  # what `import psycopg` sees when it is not installed
        "from backlog_bridge.cli import main; sys.argv = ['backlog-bridge', 'runs']; main()"
    )
    (tmp_path / "settings.toml").write_text("", encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "BACKLOG_BRIDGE_DATABASE_URL": "postgresql+psycopg://app:s3cret@127.0.0.1:5432/nps",
    }
    done = subprocess.run(
        [sys.executable, "-c", hide_driver], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "pip install 'backlog-bridge[postgres]'" in done.stderr
    assert "s3cret" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
