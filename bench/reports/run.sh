#!/usr/bin/env bash
# The reports benchmark (issue #7): generates a large workspace, serves it, and prints the load
# time, p50/p95 of every report endpoint, evaluation submissions per second with 32 concurrent
# clients (and their p99), and the server's peak memory.
#
#   bench/reports/run.sh [--postgres] [N]
#
# N is the number of conversations and of submitted reviews (default 1,000,000). SQLite runs in
# a temporary directory; --postgres creates a fresh database on PLUMBLINE_BENCH_POSTGRES
# (default postgres://postgres@127.0.0.1:5432) and drops it afterwards. Not part of the tests.
# Other knobs: PORT (default 18473), SAMPLES (requests per endpoint, 20), CLIENTS (32),
# SUBMISSIONS (10000 per round), ROUNDS (submission rounds, 3), KEEP=1 keeps the database,
# BIN/LOADGEN use prebuilt binaries.
#
# Submissions per second barely depend on N (on one machine, medians of three rounds: 914/s at
# 20,000, 852/s at 1,000,000), so `run.sh 20000` (a one-second load) is a quick first check of a
# change to the write path; the goal is still measured at 1,000,000.
set -euo pipefail
cd "$(dirname "$0")/../.."

backend=sqlite
n=1000000
for arg in "$@"; do
    case "$arg" in
        --postgres) backend=postgres ;;
        [0-9]*) n="$arg" ;;
        *) echo "usage: $0 [--postgres] [N]" >&2; exit 2 ;;
    esac
done
port="${PORT:-18473}"
samples="${SAMPLES:-20}"
clients="${CLIENTS:-32}"
submissions="${SUBMISSIONS:-10000}"
rounds="${ROUNDS:-3}"
pg_server="${PLUMBLINE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
admin=admin@northwind.example
password=plumbline-bench

# BIN and LOADGEN name prebuilt binaries (then nothing is built).
if [ -z "${BIN:-}" ]; then cargo build --release -p plumbline --bins; fi
bin="${BIN:-target/release/plumbline}"
loadgen="${LOADGEN:-target/release/plumbline-loadgen}"

work="$(mktemp -d "${TMPDIR:-/tmp}/plumbline-bench.XXXXXX")"
server_pid=""
pg_db=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    if [ "${KEEP:-0}" = 1 ]; then
        echo "kept: ${url:-}"
    else
        if [ -n "$pg_db" ]; then psql "$pg_server/postgres" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null || true; fi
        rm -rf "$work"
    fi
}
trap cleanup EXIT

if [ "$backend" = postgres ]; then
    pg_db="plumbline_bench_$$"
    psql "$pg_server/postgres" -qc "CREATE DATABASE $pg_db" >/dev/null
    url="$pg_server/$pg_db"
else
    url="sqlite://$work/plumbline.db?mode=rwc"
fi

echo "== $backend, $n conversations, $n reviews"
"$bin" generate --database-url "$url" --conversations "$n" --evaluations "$n" 2>"$work/generate.log" | tee "$work/generate.out"
tail -n 3 "$work/generate.log" >&2
if [ "$backend" = postgres ]; then
    psql "$url" -Atc "SELECT 'database size: ' || pg_size_pretty(pg_database_size(current_database()))"
else
    echo "database size: $(du -sh "$work" | cut -f1)"
fi

"$bin" serve --database-url "$url" --port "$port" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 600); do
    if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/serve.log" >&2; exit 1; fi
    sleep 0.2
done
echo "server RSS after start: $(grep VmRSS /proc/$server_pid/status | awk '{print $2/1024 " MB"}')"

# How much of the SQLite file the OS page cache holds: reads of pages it does not hold go to the
# disk. Some virtual machines give page cache back to their host within minutes, so the same
# binary measures differently depending on this.
cached() {
    if [ "$backend" = sqlite ] && command -v fincore >/dev/null; then
        echo "database in the page cache $1: $(fincore -n -o RES "$work/plumbline.db") of $(du -h "$work/plumbline.db" | cut -f1)"
    fi
}
cached "before the reports"

echo
echo "== report endpoints ($samples requests each, one keep-alive connection, as $admin)"
"$loadgen" --addr "127.0.0.1:$port" --email "$admin" --password "$password" reports --samples "$samples"

cached "before the submissions"
echo
echo "== submissions ($clients clients, each review written and submitted in one HTTP request, $rounds rounds)"
# CPU time of the server (and, on SQLite, of its busiest SQLite thread: the writers' connection)
# over the submissions. Throughput on a shared 2-core machine varies by a fifth from run to run,
# even with the same binary and database, so the rounds run one after another and the medians
# are printed; CPU per submission varies less, and the writer thread's busy share shows how much
# of the serialised path is work rather than waiting.
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
sqlite_threads() {
    for t in /proc/"$server_pid"/task/*; do
        # A thread can end between the listing and the read (a pool connection closing).
        if [ "$(cat "$t/comm" 2>/dev/null)" = sqlx-sqlite-wor ]; then
            echo "${t##*/} $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null)"
        fi
    done | sort
}
cpu_before=$(cpu); sqlite_threads > "$work/threads.before"; started=$(date +%s.%N)
for round in $(seq "$rounds"); do
    echo "round $round:"
    "$loadgen" --addr "127.0.0.1:$port" --email "$admin" --password "$password" \
        submit --clients "$clients" --submissions "$submissions" | tee -a "$work/rounds.out"
done
elapsed=$(echo "$(date +%s.%N) - $started" | bc -l); sqlite_threads > "$work/threads.after"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "median of $rounds rounds: $(grep -o '[0-9.]* submissions/s' "$work/rounds.out" | cut -d' ' -f1 | median) submissions/s," \
    "p99 $(grep 'one request' "$work/rounds.out" | awk '{ print $10 }' | median) ms"
echo "server CPU per submission: $(echo "($(cpu) - $cpu_before) * 1000 / $ticks / ($submissions * $rounds)" | bc -l | xargs printf "%.2f") ms"
if [ "$backend" = sqlite ]; then
    busiest=$(join "$work/threads.before" "$work/threads.after" | awk '{ d = $3 - $2; if (d > m) m = d } END { print m + 0 }')
    echo "SQLite writer thread busy: $(echo "$busiest * 100 / $ticks / $elapsed" | bc -l | xargs printf "%.0f")% of the submissions' wall time"
fi

echo
echo "server peak RSS (VmHWM): $(grep VmHWM /proc/$server_pid/status | awk '{printf "%.1f MB", $2/1024}')"
