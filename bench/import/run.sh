#!/usr/bin/env bash
# Measures a large conversation import: wall time, rows per second and the importer's peak
# memory (RSS), on SQLite and, with --postgres, on PostgreSQL.
#
#   bash bench/import/run.sh [ROWS] [--postgres]     (default 1000000 rows)
#
# The CSV is generated (3 vendors, 300 agents, transcripts of 4 messages, CSAT on 40% of rows)
# into a temporary directory; a release build of `plumbline` imports it into a fresh database.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS="${1:-1000000}"
POSTGRES=0
[[ "${2:-}" == "--postgres" || "${1:-}" == "--postgres" ]] && POSTGRES=1
[[ "$ROWS" == "--postgres" ]] && ROWS=1000000
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --locked -q -p plumbline
bin=target/release/plumbline

python3 - "$ROWS" "$work/conversations.csv" <<'PY'
import csv, json, random, sys
rows, path = int(sys.argv[1]), sys.argv[2]
random.seed(2026)
vendors = ["Northwind", "Atlas BPO", "Meridian Contact Solutions"]
channels = ["email", "chat", "phone", "social"]
with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["external_id", "channel", "agent", "team", "vendor", "started_at", "subject", "transcript", "tags", "csat"])
    for i in range(rows):
        v = i % 3
        agent = f"Agent {v}-{i % 100}"
        transcript = json.dumps([
            {"author": "customer", "text": f"Hello, my order {i} has not arrived."},
            {"author": "agent", "text": "Sorry to hear that, let me check the tracking for you."},
            {"author": "customer", "text": "Thanks, it was due on Monday."},
            {"author": "agent", "text": "It is out for delivery today; here is the link."},
        ])
        csat = random.randint(1, 5) if random.random() < 0.4 else ""
        day = 1 + i % 28
        w.writerow([f"BENCH-{i}", channels[i % 4], agent, f"Team {v}-{i % 2}", vendors[v],
                    f"2026-10-{day:02d} 10:{i % 60:02d}", f"Order {i}", transcript, "bench;import", csat])
PY
size=$(du -h "$work/conversations.csv" | cut -f1)
echo "generated $ROWS rows ($size)"

run() {
  local label="$1" url="$2"
  "$bin" migrate --database-url "$url" >/dev/null
  "$bin" demo --database-url "$url" >/dev/null  # a workspace with the three vendors
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss" "$bin" import conversations "$work/conversations.csv" --database-url "$url" >/dev/null
  end=$(date +%s.%N)
  python3 - "$label" "$ROWS" "$start" "$end" "$(cat "$work/rss")" <<'PY'
import sys
label, rows, start, end, rss_kb = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
seconds = end - start
print(f"{label}: {rows} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s; importer peak RSS {rss_kb / 1024:.0f} MiB")
PY
}

run "SQLite" "sqlite://$work/bench.db?mode=rwc"
if [[ "$POSTGRES" == 1 ]]; then
  db="plumbline_bench_import_$$"
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db" postgres
  run "PostgreSQL" "postgres://postgres@127.0.0.1:5432/$db"
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $db" postgres
fi
