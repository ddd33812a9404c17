#!/bin/sh
# Run every linkcli benchmark in turn (one at a time, so they do not disturb each other)
# and keep each report in $OUT (default: ./bench-results). Takes ~20 minutes.
#   PYTHON=/work/venv/bin/python sh bench/run_all.sh
set -eu
PYTHON=${PYTHON:-python}
OUT=${OUT:-bench-results}
HERE=$(dirname "$0")
mkdir -p "$OUT"
"$PYTHON" "$HERE/tick.py" --importtime | tee "$OUT/tick.txt"
"$PYTHON" "$HERE/dispatch_throughput.py" --profile 30 | tee "$OUT/dispatch_throughput.txt"
"$PYTHON" "$HERE/sync_scale.py" --profile --profile-lines 15 | tee "$OUT/sync_scale.txt"
