#!/usr/bin/env python3
"""Label a DataFrame of paragraphs on Apache Spark by piping each partition
through `vektor label`.

    spark-submit scripts/spark_label.py --input crawl.jsonl --output labelled \
        --vektor target/release/vektor --threads 1 --partitions 8

Input: JSON Lines or Parquet with an id column and a text column (other
columns are kept). Output: the input columns plus `theme`,
`theme_confidence`, `stance`, `stance_confidence`, optionally `scores` (the
score maps as a JSON string), and `error` (null unless vektor could not read
the row; then the labels are null). No row is lost: every input row comes
back exactly once, and a task fails if vektor's output count differs.

Each partition runs one `vektor label --input-format jsonl --on-error skip -`
process: rows go in as `{"text": ...}` lines on stdin and come back in input
order, one line per row, so the n-th output line belongs to the n-th row.

Why not `rdd.pipe`: with `--on-error skip` vektor exits 1 when it skipped a
row. Scala's `RDD.pipe` fails the task on any non-zero exit, and PySpark's
`rdd.pipe` ignores the exit code unless `checkCode=True`, which then fails on
1 too. Exit 2 (bad model, bad option) or a crash must fail the task, exit 1
must not, so the job runs the process itself and accepts 0 and 1 only. With
plain `rdd.pipe` the same effect needs a wrapper:
    rdd.pipe("sh -c 'vektor label --input-format jsonl --on-error skip -; test $? -le 1'",
             checkCode=True)
Running the process itself also lets the executor find the binary and model
shipped with `SparkContext.addFile` (`SparkFiles.get` is only right on the
executor), and keeps each input row next to its output line.
"""

import argparse
import collections
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--input", required=True, help="JSON Lines or Parquet file or directory")
    p.add_argument("--input-format", choices=["jsonl", "parquet"],
                   help="default: from the extension (.parquet), else jsonl")
    p.add_argument("--output", required=True, help="output directory (overwritten)")
    p.add_argument("--output-format", choices=["parquet", "jsonl"], default="parquet")
    p.add_argument("--id-column", default="id")
    p.add_argument("--text-column", default="text")
    p.add_argument("--vektor", help="vektor binary to ship to executors with "
                   "SparkContext.addFile [default: `vektor` from PATH on each executor]")
    p.add_argument("--model", help="model file, shipped to executors with addFile "
                   "[default: the model built into the binary]")
    p.add_argument("--min-confidence", help="passed to vektor, e.g. stance=0.6,theme=0.5")
    p.add_argument("--threads", type=int, default=1, help="vektor threads per task [1]")
    p.add_argument("--partitions", type=int, help="repartition the input to this many partitions")
    p.add_argument("--scores", action="store_true", help="add the score maps as a JSON string column")
    p.add_argument("--master", help="Spark master, e.g. local[2] [default: from spark-submit]")
    return p.parse_args(argv)


def shipped(name):
    """Path of a file shipped with addFile, made executable (addFile may drop the mode)."""
    from pyspark import SparkFiles
    path = SparkFiles.get(name)
    mode = os.stat(path).st_mode
    if not mode & stat.S_IXUSR:
        try:
            os.chmod(path, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        except OSError:
            pass
    return path


def label_partition(conf, text_index):
    """Returns the function that labels one partition: yields (row, output record)."""

    def run(rows):
        exe = shipped(conf["vektor"]) if conf["vektor"] else (shutil.which("vektor") or "vektor")
        cmd = [exe, "label", "--input-format", "jsonl", "--on-error", "skip",
               "--threads", str(conf["threads"]), "--quiet"]
        if conf["model"]:
            cmd += ["--model", shipped(conf["model"])]
        if conf["min_confidence"]:
            cmd += ["--min-confidence", conf["min_confidence"]]
        cmd.append("-")
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        pending = collections.deque()   # rows written, output not read yet
        lock = threading.Lock()
        failure = []
        stderr_chunks = []

        def feed():
            try:
                for row in rows:
                    line = json.dumps({"text": row[text_index]}, ensure_ascii=False) + "\n"
                    with lock:
                        pending.append(row)
                    proc.stdin.write(line.encode("utf-8"))
            except BrokenPipeError:
                pass   # vektor died; the exit code below says why
            except BaseException as e:   # noqa: BLE001 - reported on the task thread
                failure.append(e)
            finally:
                try:
                    proc.stdin.close()
                except OSError:
                    pass

        writer = threading.Thread(target=feed, daemon=True)
        errs = threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read()), daemon=True)
        writer.start()
        errs.start()
        count = 0
        for out in proc.stdout:
            with lock:
                row = pending.popleft() if pending else None
            if row is None:
                raise RuntimeError("vektor wrote more lines than it was given")
            count += 1
            yield row, out
        writer.join()
        code = proc.wait()
        errs.join()
        if failure:
            raise failure[0]
        stderr = b"".join(stderr_chunks).decode("utf-8", "replace").strip()
        # 0: all rows labelled; 1: some rows skipped (they are error records). Anything else fails.
        if code not in (0, 1):
            raise RuntimeError(f"{' '.join(cmd)} exited {code}: {stderr[-2000:]}")
        if pending:
            raise RuntimeError(f"vektor returned {count} lines for {count + len(pending)} rows")

    return run


def to_output(with_scores):
    def convert(pair):
        row, line = pair
        rec = json.loads(line)
        if "error" in rec and "theme" not in rec:
            labels = [None, None, None, None] + ([None] if with_scores else [])
            return tuple(row) + tuple(labels) + (str(rec["error"]),)
        labels = [rec.get("theme"), rec.get("theme_confidence"),
                  rec.get("stance"), rec.get("stance_confidence")]
        if with_scores:
            labels.append(json.dumps(rec.get("scores"), ensure_ascii=False, sort_keys=True))
        return tuple(row) + tuple(float(v) if isinstance(v, int) and not isinstance(v, bool)
                                  else v for v in labels) + (None,)
    return convert


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    t_start = time.time()
    builder = SparkSession.builder.appName("vektor-label")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    sc = spark.sparkContext
    t_session = time.time()

    fmt = args.input_format or ("parquet" if args.input.rstrip("/").endswith(".parquet") else "jsonl")
    df = spark.read.parquet(args.input) if fmt == "parquet" else spark.read.json(args.input)
    for col in (args.id_column, args.text_column):
        if col not in df.columns:
            sys.exit(f"spark_label: input has no `{col}` column (columns: {', '.join(df.columns)})")
    added = ["theme", "theme_confidence", "stance", "stance_confidence"] + \
        (["scores"] if args.scores else []) + ["error"]
    clash = [c for c in added if c in df.columns]
    if clash:
        sys.exit(f"spark_label: input already has column(s) {', '.join(clash)}; drop or rename them")
    if args.partitions:
        df = df.repartition(args.partitions)

    conf = {"vektor": None, "model": None, "threads": args.threads,
            "min_confidence": args.min_confidence}
    if args.vektor:
        sc.addFile(os.path.abspath(args.vektor))
        conf["vektor"] = os.path.basename(args.vektor)
    if args.model:
        sc.addFile(os.path.abspath(args.model))
        conf["model"] = os.path.basename(args.model)

    text_index = df.columns.index(args.text_column)
    labelled = df.rdd.mapPartitions(label_partition(conf, text_index)).map(to_output(args.scores))
    fields = [StructField("theme", StringType()), StructField("theme_confidence", DoubleType()),
              StructField("stance", StringType()), StructField("stance_confidence", DoubleType())]
    if args.scores:
        fields.append(StructField("scores", StringType()))
    fields.append(StructField("error", StringType()))
    out = spark.createDataFrame(labelled, StructType(df.schema.fields + fields))
    writer = out.write.mode("overwrite")
    if args.output_format == "parquet":
        writer.parquet(args.output)
    else:
        writer.option("ignoreNullFields", "false").json(args.output)   # keep error: null
    t_end = time.time()
    print(f"spark_label: session start {t_session - t_start:.2f} s, read+label+write "
          f"{t_end - t_session:.2f} s, {labelled.getNumPartitions()} partitions", file=sys.stderr)
    return spark


if __name__ == "__main__":
    main().stop()
