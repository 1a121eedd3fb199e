#!/usr/bin/env bash
# Training time and peak memory at growing sizes, vektor against
# scikit-learn (TF-IDF + LogisticRegression) on the same files.
#
# Each file cycles training/paragraphs.jsonl with three running words
# appended to every row (so rows differ), and both tools train word 1-2-gram
# models with at most 20,000 features, sublinear tf, balanced classes and
# alpha 0.3 (C = 1/alpha for scikit-learn). Prints one table row per size.
#
#   scripts/bench-train.sh [SIZES...]      default: 2000 4000 8000 16000 32000
#
# scikit-learn is optional: without it (pip install scikit-learn) its
# columns read "-".
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${*:-2000 4000 8000 16000 32000}
work=${BENCH_DIR:-target/bench}
mkdir -p "$work"
cargo build --release --quiet
bin=target/release/vektor

# GNU time's peak resident set, in MB, and the wall time, in seconds.
measure() {
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" > /dev/null 2>&1
    awk '{printf "%.1f s, %d MB", $1, $2 / 1024}' "$work/time.txt"
}

has_sklearn=$(python3 -c "import sklearn" 2>/dev/null && echo yes || echo no)
echo "| rows | vektor (sparse solver) | scikit-learn |"
echo "| --- | --- | --- |"
for n in $sizes; do
    data="$work/train-$n.jsonl"
    if [ ! -s "$data" ]; then
        python3 - "$data" "$n" <<'PY'
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
rows = [json.loads(line) for line in open("training/paragraphs.jsonl", encoding="utf-8")]
with open(out, "w", encoding="utf-8") as f:
    for i in range(n):
        r = rows[i % len(rows)]
        text = f"{r['text']} w{i % 97} x{i % 89} y{i % 83}"
        f.write(json.dumps({"text": text, "theme": r["theme"], "stance": r["stance"]}) + "\n")
PY
    fi
    ours=$(measure "$bin" train --data="$data" --out="$work/model-$n.json" \
        --ngrams=2 --max-features=20000 --sublinear-tf --balance --alpha=0.3)
    theirs="-"
    if [ "$has_sklearn" = yes ]; then
        theirs=$(measure python3 - "$data" <<'PY'
import json, sys
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
texts = [r["text"] for r in rows]
x = TfidfVectorizer(ngram_range=(1, 2), max_features=20000, min_df=2, sublinear_tf=True).fit_transform(texts)
for head in ("theme", "stance"):
    LogisticRegression(C=1 / 0.3, class_weight="balanced", max_iter=200).fit(x, [r[head] for r in rows])
PY
)
    fi
    echo "| $n | $ours | $theirs |"
done
