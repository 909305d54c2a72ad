#!/usr/bin/env bash
# CI: build the wheel, install it (not editable, without extras) into a fresh virtual environment,
# and run `backlog-bridge run` and `doctor` from an empty folder: what `pip install backlog-bridge`
# users get. Also checks that a PostgreSQL URL without the [postgres] extra names the extra.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "ci(wheel): building"
.venv/bin/pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$repo"
wheel=$(ls "$work"/dist/backlog_bridge-*.whl)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet torch==2.13.0
"$work/venv/bin/pip" install --quiet "$wheel"

mkdir "$work/empty"
cd "$work/empty"
echo "ci(wheel): backlog-bridge run (from an empty folder)"
"$work/venv/bin/backlog-bridge" run --format json > run.json
"$work/venv/bin/python" - run.json <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
assert summary["ok"], summary
assert summary["themes"]["active_themes"] > 0, summary["themes"]
assert summary["plan"], "no plan"
assert any(path.endswith(".html") for path in summary["report_files"]), summary["report_files"]
print(f"ci(wheel): {summary['themes']['active_themes']} themes, {len(summary['plan'])} plan items, "
      f"{len(summary['report_files'])} report files")
PY
echo "ci(wheel): backlog-bridge doctor"
"$work/venv/bin/backlog-bridge" doctor

echo "ci(wheel): a PostgreSQL URL without the [postgres] extra"
set +e
message=$(BACKLOG_BRIDGE_DATABASE_URL="postgresql+psycopg://app@127.0.0.1:5432/nps" "$work/venv/bin/backlog-bridge" runs 2>&1)
status=$?
set -e
if [ "$status" -eq 0 ] || ! grep -q "backlog-bridge\[postgres\]" <<<"$message"; then
  echo "ci(wheel): expected an error naming the [postgres] extra, got ($status): $message" >&2
  exit 1
fi
echo "ci(wheel): ok"
