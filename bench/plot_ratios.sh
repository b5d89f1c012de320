#!/usr/bin/env bash
# bench/plot_ratios.sh [CSV] [PNG] [COLUMN]: bar chart of bench/compare_ort.sh's ratios
# (legacygpu / ONNX Runtime, lower is better, 1 = parity): one group of bars per model,
# one bar per thread count and batch size. COLUMN: ratio (median latency, the default) or
# cpu_ratio (CPU time per run). Defaults: bench/results/compare_ort.csv ->
# docs/img/cpu_ratios.png. Needs gnuplot (`bash scripts/deps.sh --plot`).
set -euo pipefail
cd "$(dirname "$0")/.."
csv=${1:-bench/results/compare_ort.csv}
png=${2:-docs/img/cpu_ratios.png}
column=${3:-ratio}
case $column in
  ratio) what="median latency" ;;
  cpu_ratio) what="CPU time per run" ;;
  *) echo "plot_ratios: COLUMN must be ratio or cpu_ratio, got $column" >&2; exit 2 ;;
esac
command -v gnuplot >/dev/null || { echo "plot_ratios: gnuplot is missing (bash scripts/deps.sh --plot)" >&2; exit 1; }
[ -f "$csv" ] || { echo "plot_ratios: no $csv (run bench/compare_ort.sh first)" >&2; exit 1; }
mkdir -p "$(dirname "$png")"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# Pivot: one row per model, one column per "Tt Bb" configuration.
/usr/bin/python3 - "$csv" "$column" >"$tmp" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
col = sys.argv[2]
cfgs = sorted({(int(r["threads"]), int(r["batch"])) for r in rows})
models = list(dict.fromkeys(r["model"] for r in rows))
val = {(r["model"], int(r["threads"]), int(r["batch"])): r[col] for r in rows}
print("model " + " ".join(f'"{t} thr, batch {b}"' for t, b in cfgs))
for m in models:
    print(m + " " + " ".join(val.get((m, t, b), "-") for t, b in cfgs))
PY
ncol=$(head -1 "$tmp" | grep -o '"[^"]*"' | wc -l)
gnuplot <<GP
set terminal pngcairo size 1000,500 font "sans,10" noenhanced
set output "$png"
set title "legacygpu / ONNX Runtime 1.30, $what (lower is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing "-"
set ylabel "ratio"
set yrange [0:*]
set grid ytics
set key outside top center horizontal
set xtics rotate by -20
plot for [i=2:$((ncol + 1))] "$tmp" using i:xtic(1) title columnheader(i), 1 with lines lw 2 lc rgb "black" title "parity"
GP
echo "$png"
