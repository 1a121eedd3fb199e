#!/usr/bin/env bash
# End-to-end throughput of `vektor label` (JSON Lines in, JSON Lines out).
#
# Builds a corpus of at least 100 MB deterministically from the training
# paragraphs (each repeated with a running id), then labels it with one
# thread and with all threads, five runs each, and reports the median MB/s
# and paragraphs/s and the peak resident memory.
#
#   scripts/bench-throughput.sh [MODEL] [MB] [LANG]
#
# LANG (en or ru, default en) picks the training paragraphs the corpus is
# built from, so the two languages are measured on corpora of the same shape.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/default.json}
target_mb=${2:-100}
lang=${3:-en}
work=${BENCH_DIR:-target/bench}
mkdir -p "$work"
corpus="$work/corpus-${lang}-${target_mb}mb.jsonl"

cargo build --release --quiet
bin=target/release/vektor

if [ ! -s "$corpus" ]; then
    python3 - "$corpus" "$target_mb" "$lang" <<'PY'
import json, sys
out, target, lang = sys.argv[1], int(sys.argv[2]) * 1_000_000, sys.argv[3]
rows = [json.loads(line) for line in open("training/paragraphs.jsonl", encoding="utf-8")]
texts = [r["text"] for r in rows if r.get("lang", "en") == lang]
written, i = 0, 0
with open(out, "w", encoding="utf-8") as f:
    while written < target:
        line = json.dumps({"id": i, "text": texts[i % len(texts)]}, ensure_ascii=False) + "\n"
        f.write(line)
        written += len(line.encode("utf-8"))
        i += 1
PY
fi
bytes=$(stat -c %s "$corpus")
rows=$(wc -l < "$corpus")
echo "corpus: $corpus, $((bytes / 1000000)) MB, $rows paragraphs"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for threads in 1 "$(nproc)"; do
    times=()
    peak=0
    for run in 1 2 3 4 5; do
        # Wall time from the clock in nanoseconds (`time`'s own is in
        # hundredths); `time` still gives the peak resident memory.
        start=$(date +%s%N)
        kb=$( { /usr/bin/time -f "%M" "$bin" label --quiet --model "$model" --threads "$threads" "$corpus" > /dev/null; } 2>&1 | tail -n 1)
        end=$(date +%s%N)
        times+=("$(awk -v ns=$((end - start)) 'BEGIN { printf "%.4f", ns / 1e9 }')")
        [ "$kb" -gt "$peak" ] && peak=$kb
    done
    med=$(printf '%s\n' "${times[@]}" | median)
    awk -v b="$bytes" -v r="$rows" -v s="$med" -v t="$threads" -v p="$peak" 'BEGIN {
        printf "threads %s: median %.3f s  %.1f MB/s  %.0f paragraphs/s  peak RSS %.1f MB\n", t, s, b / s / 1e6, r / s, p / 1024 }'
done

# Cold start: start the binary, load the model and label one paragraph.
times=()
for run in 1 2 3 4 5; do
    start=$(date +%s%N)
    "$bin" label --quiet --model "$model" <<< "Kazakhstan signed a gas deal." > /dev/null
    end=$(date +%s%N)
    times+=("$(( (end - start) / 1000 ))")
done
echo "cold start (load model, label one paragraph): median $(printf '%s\n' "${times[@]}" | median) µs"
