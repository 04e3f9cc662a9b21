#!/usr/bin/env bash
# Plumbline's reliability statistics vs the Python package `krippendorff` 0.9, side by side, on
# 20,000 units x 50 raters, 5-point ordinal, 10% missing. Not part of the test suite.
#
#   bench/agreement/compare.sh            # work files under /tmp/plumbline-agreement-bench
#
# Creates a throwaway venv there (pip install krippendorff==0.9.0), writes the CSV with
# generate.py, then prints: Rust alpha/AC1/Fleiss timings (cargo bench, release), Python alpha
# timings (in-process, median of 5), the speed-up per level, and the wall time of the whole
# `plumbline agreement FILE --format json` run vs a Python script that reads the CSV and
# computes alpha (interpreter start-up and imports included, as a user would run it).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${PLUMBLINE_BENCH_DIR:-/tmp/plumbline-agreement-bench}
VENV="$WORK/venv"
CSV="$WORK/ratings.csv"
mkdir -p "$WORK"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "krippendorff==0.9.0"
fi
[ -f "$CSV" ] || python3 "$ROOT/bench/agreement/generate.py" "$CSV"

echo "== Rust (plumbline-agreement, release) =="
(cd "$ROOT" && PLUMBLINE_BENCH_CSV="$CSV" cargo bench --quiet -p plumbline-agreement --bench agreement) | tee "$WORK/rust.txt"

echo "== Python (krippendorff $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("krippendorff"))')) =="
"$VENV/bin/python" "$ROOT/bench/agreement/alpha_krippendorff.py" "$CSV" --repeat 5 | tee "$WORK/python.txt"

(cd "$ROOT" && cargo build --quiet --release -p plumbline)

python3 - "$WORK" "$ROOT/target/release/plumbline" "$VENV/bin/python" "$ROOT/bench/agreement/alpha_krippendorff.py" "$CSV" <<'PY'
import re, subprocess, sys, time
work, binary, python, script, csv_path = sys.argv[1:]

def parse(path):
    return {m[1]: float(m[2]) for m in re.finditer(r"^(\w+)_ms=([\d.]+)", open(path).read(), re.M)}

rust, py = parse(f"{work}/rust.txt"), parse(f"{work}/python.txt")
print("== Alpha, one computation (median) ==")
for level in ["nominal", "ordinal", "interval", "ratio"]:
    r, p = rust[f"rust_alpha_{level}"], py[f"python_alpha_{level}"]
    print(f"{level:<9} rust {r:8.2f} ms   python {p:8.2f} ms   speed-up {p / r:6.1f}x")

def wall(command, runs=3):
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        timings.append(time.perf_counter() - start)
    return sorted(timings)[runs // 2] * 1000

cli = wall([binary, "agreement", csv_path, "--format", "json", "--categories", "1,2,3,4,5"])
script_ms = wall([python, script, csv_path])
print("== Whole run, wall clock (median of 3) ==")
print(f"plumbline agreement (all statistics, alpha bootstrap 1000): {cli:8.1f} ms")
print(f"python: read CSV + ordinal alpha only:                    {script_ms:8.1f} ms")
print(f"ratio: {script_ms / cli:.1f}x")
PY
