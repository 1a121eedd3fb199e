#!/usr/bin/env bash
# Integration check for scripts/spark_label.py (issue 14): runs the PySpark job
# on local[2] over the training and dev texts plus one malformed row, and checks
# ids, count and every label against a plain `vektor label` run of the same
# input. Also checks the GNU parallel line from the README when parallel is
# installed. Exits non-zero on any difference.
#
#   SPARK_VENV    venv with the pinned pyspark [target/spark-venv]; reused when
#                 it already has the pinned version
#   PYSPARK_DL    directory searched for a downloaded pyspark sdist/wheel first [/tmp/pyspark-dl]
#   SPARK_CHECK_PARTITIONS  partitions for the Spark run [4]
set -euo pipefail
cd "$(dirname "$0")/.."

PYSPARK_VERSION=4.0.1
VENV=${SPARK_VENV:-target/spark-venv}
PYSPARK_DL=${PYSPARK_DL:-/tmp/pyspark-dl}
PARTITIONS=${SPARK_CHECK_PARTITIONS:-4}
WORK=target/spark-check
PY="$VENV/bin/python"
export PYTHONDONTWRITEBYTECODE=1   # the check imports scripts/spark_label.py; leave no __pycache__

now() { date +%s.%N; }
t_start=$(now)

command -v java >/dev/null || { echo "spark-check: java is not on PATH; Spark needs it" >&2; exit 2; }

# --- venv with pinned pyspark (reused when the pin matches) ---------------------
if [ -x "$PY" ] && [ "$("$PY" -c 'import pyspark; print(pyspark.__version__)' 2>/dev/null)" = "$PYSPARK_VERSION" ]; then
  echo "spark-check: reusing $VENV (pyspark $PYSPARK_VERSION)"
else
  echo "spark-check: creating $VENV with pyspark==$PYSPARK_VERSION"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  find_links=()
  [ -d "$PYSPARK_DL" ] && find_links=(--find-links "$PYSPARK_DL")
  "$PY" -m pip install --quiet --disable-pip-version-check "${find_links[@]}" "pyspark==$PYSPARK_VERSION"
fi
t_venv=$(now)

cargo build --release --quiet
VEKTOR=target/release/vektor
t_build=$(now)

# --- input: id and text only, plus one malformed row (text is null) ------------
rm -rf "$WORK"
mkdir -p "$WORK"
"$PY" - "$WORK" <<'EOF'
import glob, json, sys
work = sys.argv[1]
rows, seen = [], set()
for path in ["training/paragraphs.jsonl"] + sorted(glob.glob("training/dev*.jsonl")):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            rid = r["id"]
            assert rid not in seen, f"duplicate id {rid} in {path}"
            seen.add(rid)
            rows.append({"id": rid, "text": r["text"]})
bad = {"id": "bad-0001", "text": None}          # vektor cannot read it: an error row
with open(f"{work}/clean.jsonl", "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
rows.insert(len(rows) // 2, bad)
with open(f"{work}/input.jsonl", "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(f"spark-check: {len(rows)} rows ({len(rows) - 1} paragraphs + 1 malformed) in {work}/input.jsonl")
EOF
ROWS=$(wc -l < "$WORK/input.jsonl")

# --- plain vektor, 2 threads (the cores local[2] gets) --------------------------
t0=$(now)
set +e
"$VEKTOR" label --input-format jsonl --on-error skip --threads 2 --quiet - < "$WORK/input.jsonl" > "$WORK/plain.jsonl"
rc=$?
set -e
t1=$(now)
[ "$rc" -eq 1 ] || { echo "spark-check: plain vektor exited $rc, expected 1 (one skipped row)" >&2; exit 1; }

# --- Spark on local[2] ------------------------------------------------------------
t2=$(now)
"$PY" scripts/spark_label.py --master 'local[2]' \
  --input "$WORK/input.jsonl" --output "$WORK/spark-out" --output-format jsonl \
  --vektor "$VEKTOR" --threads 1 --partitions "$PARTITIONS" --scores ${SPARK_CHECK_JOB_ARGS:-} \
  2> "$WORK/spark.log" || { tail -n 40 "$WORK/spark.log" >&2; echo "spark-check: the Spark job failed" >&2; exit 1; }
t3=$(now)

# --- Parquet in, Parquet out (one more JVM): the same input through the job's Parquet paths
t_pq0=$(now)
"$PY" - "$WORK" "$VEKTOR" "$PARTITIONS" 2> "$WORK/spark-parquet.log" <<'EOF' || { tail -n 40 "$WORK/spark-parquet.log" >&2; echo "spark-check: the Parquet run failed" >&2; exit 1; }
import json, sys
sys.path.insert(0, "scripts")
import spark_label
from pyspark.sql import SparkSession
work, vektor, parts = sys.argv[1:4]
spark = SparkSession.builder.master("local[2]").appName("spark-check").getOrCreate()
spark.sparkContext.addPyFile("scripts/spark_label.py")   # the job's functions, for the workers
spark.read.json(f"{work}/input.jsonl").write.mode("overwrite").parquet(f"{work}/input.parquet")
spark_label.main(["--input", f"{work}/input.parquet", "--output", f"{work}/spark-out-parquet",
                  "--vektor", vektor, "--threads", "1", "--partitions", parts, "--scores"])
with open(f"{work}/spark-out-parquet/rows.json", "w", encoding="utf-8") as f:
    for row in spark.read.parquet(f"{work}/spark-out-parquet").collect():
        f.write(json.dumps(row.asDict(), ensure_ascii=False) + "\n")
spark.stop()
EOF
t_pq1=$(now)
mv "$WORK/spark-out-parquet/rows.json" "$WORK/spark-out-parquet/part-rows.json"

# --- compare -----------------------------------------------------------------------
for out in spark-out spark-out-parquet; do
"$PY" - "$WORK" "$out" <<'EOF'
import glob, json, sys
work, out = sys.argv[1:3]
ids = [json.loads(l)["id"] for l in open(f"{work}/input.jsonl", encoding="utf-8")]
plain = [json.loads(l) for l in open(f"{work}/plain.jsonl", encoding="utf-8")]
problems = []
if len(plain) != len(ids):
    sys.exit(f"spark-check: plain vektor returned {len(plain)} records for {len(ids)} rows")
spark = {}
n_spark = 0
for path in sorted(glob.glob(f"{work}/{out}/part-*.json")):
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        n_spark += 1
        if r["id"] in spark:
            problems.append(f"id {r['id']} appears twice in the Spark output")
        spark[r["id"]] = r
if n_spark != len(ids):
    problems.append(f"Spark returned {n_spark} rows for {len(ids)} input rows")
missing = set(ids) - set(spark)
extra = set(spark) - set(ids)
if missing:
    problems.append(f"{len(missing)} ids missing from the Spark output, e.g. {sorted(missing)[:5]}")
if extra:
    problems.append(f"{len(extra)} unknown ids in the Spark output, e.g. {sorted(extra)[:5]}")
errors = 0
for rid, p in zip(ids, plain):
    s = spark.get(rid)
    if s is None:
        continue
    if "error" in p and "theme" not in p:
        errors += 1
        if not s.get("error"):
            problems.append(f"{rid}: plain vektor skipped it ({p['error']}), Spark has no error")
        elif any(s.get(k) is not None for k in ("theme", "stance")):
            problems.append(f"{rid}: error row with labels in the Spark output")
        continue
    if s.get("error"):
        problems.append(f"{rid}: Spark error {s['error']!r}, plain vektor labelled it")
        continue
    for k in ("theme", "stance", "theme_confidence", "stance_confidence"):
        if s.get(k) != p.get(k):
            problems.append(f"{rid}: {k} spark={s.get(k)!r} plain={p.get(k)!r}")
    if json.loads(s["scores"]) != p.get("scores"):
        problems.append(f"{rid}: scores differ")
    if s.get("text") != p.get("text"):
        problems.append(f"{rid}: text differs")
if errors != 1:
    problems.append(f"expected exactly 1 error row in the plain output, got {errors}")
if problems:
    for line in problems[:30]:
        print("spark-check: DIFF", line, file=sys.stderr)
    sys.exit(f"spark-check: {len(problems)} differences")
print(f"spark-check: Spark output ({out}) matches plain vektor: {len(ids)} ids, every label, "
      f"{errors} error row kept as an error")
EOF
done

# --- GNU parallel, the README line --------------------------------------------------
par_msg="skipped (GNU parallel is not installed)"
if command -v parallel >/dev/null && parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
  t4=$(now)
  parallel --pipe --keep-order --block 1M "$VEKTOR" label --input-format jsonl - < "$WORK/clean.jsonl" > "$WORK/parallel.jsonl" 2> "$WORK/parallel.log" \
    || { cat "$WORK/parallel.log" >&2; echo "spark-check: GNU parallel failed" >&2; exit 1; }
  t5=$(now)
  # The same records in the same order as the plain run, minus the malformed row's
  # error record; `line` and `paragraph` count from 1 in each block, so they are left out.
  "$PY" - "$WORK" <<'EOF2' || exit 1
import json, sys
work = sys.argv[1]
drop = ("source", "line", "paragraph")
def load(path, skip_errors=False):
    out = []
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        if skip_errors and "error" in r and "theme" not in r:
            continue
        out.append({k: v for k, v in r.items() if k not in drop})
    return out
par, plain = load(f"{work}/parallel.jsonl"), load(f"{work}/plain.jsonl", skip_errors=True)
if par != plain:
    bad = next((i for i, (a, b) in enumerate(zip(par, plain)) if a != b), min(len(par), len(plain)))
    sys.exit(f"spark-check: GNU parallel output differs from plain vektor: {len(par)} vs {len(plain)} records, first difference at record {bad + 1}")
EOF2
  par_msg="$(wc -l < "$WORK/parallel.jsonl") records, same order and labels as plain, $(awk -v a="$t4" -v b="$t5" 'BEGIN{printf "%.2f", b-a}') s"
fi

awk -v rows="$ROWS" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v ts="$t_start" -v tv="$t_venv" -v tb="$t_build" -v e="$(now)" -v pq="$(awk -v a="$t_pq0" -v b="$t_pq1" 'BEGIN{print b-a}')" 'BEGIN{
  plain = t1 - t0; spark = t3 - t2
  printf "spark-check: venv %.1f s, cargo build %.1f s\n", tv - ts, tb - tv
  printf "spark-check: plain vektor (2 threads): %.2f s, %.0f rows/s\n", plain, rows / plain
  printf "spark-check: Spark local[2] total:     %.2f s, %.0f rows/s (JVM start-up included)\n", spark, rows / spark
  printf "spark-check: Spark overhead:           %.2f s\n", spark - plain
  printf "spark-check: Parquet round trip (own JVM, converts the input too): %.2f s\n", pq
  printf "spark-check: whole check:              %.1f s\n", e - ts
}'
grep -ho 'spark_label: .*' "$WORK/spark.log" | sed 's/^/spark-check: job (jsonl run): /' || true
echo "spark-check: GNU parallel: $par_msg"
echo "spark-check: OK"
