//! The `vektor` command seen from outside: train, label, inspect, eval, cv,
//! tune and curve on small fixtures, their output formats and their errors.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn vektor() -> Command {
    let mut cmd = Command::cargo_bin("vektor").unwrap();
    cmd.env_remove("VEKTOR_MODEL");
    cmd
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Trains a model on the tiny fixture into a fresh directory.
fn tiny_model() -> (TempDir, PathBuf) {
    // Training dominates this suite's time, so the model is trained once per
    // run and shared; each test still gets a directory of its own.
    static MODEL: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let model = MODEL.get_or_init(|| {
        let model = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-tiny-model.json");
        vektor()
            .args(["train", "--min-df=1", "--data"])
            .arg(data("tiny.jsonl"))
            .arg("--out")
            .arg(&model)
            .assert()
            .success()
            .stderr(predicate::str::contains("trained on 24 paragraphs"));
        model
    });
    (TempDir::new().unwrap(), model.clone())
}

/// Runs `vektor label ARGS --model MODEL INPUT`, checks the exit code and returns stdout.
fn label_stdout(model: &Path, args: &[&str], input: &Path, code: i32) -> Vec<u8> {
    vektor()
        .arg("label")
        .args(args)
        .arg("--model")
        .arg(model)
        .arg(input)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone()
}

/// `vektor eval` of a fixture with a model.
fn eval_of(model: &Path, fixture: &str) -> Command {
    let mut command = vektor();
    command
        .arg("eval")
        .arg("--model")
        .arg(model)
        .arg("--data")
        .arg(data(fixture));
    command
}

/// `vektor eval --format=json` of a fixture, parsed.
fn eval_json(model: &Path, fixture: &str) -> serde_json::Value {
    let out = eval_of(model, fixture)
        .arg("--format=json")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn train_then_label_known_paragraphs() {
    let (_dir, model) = tiny_model();
    let out = vektor()
        .arg("label")
        .arg("--model")
        .arg(&model)
        .write_stdin(
            "Gazprom signed a new gas deal with Kazakhstan.\n\nBy Aigerim Sadykova, Almaty\n",
        )
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 2, "blank lines are not paragraphs");
    assert_eq!(rows[0]["theme"], "energy");
    assert_eq!(rows[0]["stance"], "aligned");
    assert_eq!(rows[1]["theme"], "other");
    assert_eq!(rows[1]["stance"], "neutral");
    assert_eq!(rows[1]["source"], "-");
    assert_eq!(rows[1]["paragraph"], 2);
    assert_eq!(rows[1]["line"], 3);
    let scores = rows[0]["scores"]["stance"].as_object().unwrap();
    let total: f64 = scores.values().map(|v| v.as_f64().unwrap()).sum();
    assert!(
        (total - 1.0).abs() < 1e-3,
        "probabilities sum to one: {total}"
    );
    assert_eq!(rows[0]["stance_confidence"], scores["aligned"]);
}

#[test]
fn csv_training_file_gives_the_same_model_as_jsonl() {
    let (dir, from_jsonl) = tiny_model();
    let from_csv = dir.path().join("csv.json");
    vektor()
        .args(["train", "--min-df=1", "--data"])
        .arg(data("tiny.csv"))
        .arg("--out")
        .arg(&from_csv)
        .assert()
        .success();
    let a: serde_json::Value = serde_json::from_slice(&std::fs::read(from_jsonl).unwrap()).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(from_csv).unwrap()).unwrap();
    assert_eq!(a["heads"], b["heads"]);
    assert_eq!(a["vectorizer"], b["vectorizer"]);
}

#[test]
fn training_twice_gives_identical_bytes() {
    let (dir, first) = tiny_model();
    let second = dir.path().join("again.json");
    vektor()
        .args(["train", "--min-df=1", "--data"])
        .arg(data("tiny.jsonl"))
        .arg("--out")
        .arg(&second)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(first).unwrap(),
        std::fs::read(second).unwrap()
    );
}

#[test]
fn training_errors_name_file_line_and_problem() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("m.json");
    for (file, message) in [
        (
            "malformed_json.jsonl",
            "malformed_json.jsonl:2: malformed JSON",
        ),
        (
            "missing_stance_field.jsonl",
            "missing_stance_field.jsonl:2: missing field `stance`",
        ),
        ("empty_text.jsonl", "empty_text.jsonl:2: empty text"),
        (
            "one_theme.jsonl",
            "head `theme` needs at least two classes to train, found only `energy`",
        ),
    ] {
        vektor()
            .args(["train", "--data"])
            .arg(data(file))
            .arg("--out")
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
    vektor()
        .args(["train", "--data", "nowhere.jsonl", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nowhere.jsonl: No such file"));
    vektor()
        .args(["train", "--alpha=-1", "--data"])
        .arg(data("tiny.jsonl"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("alpha must be > 0, got -1"));
    vektor()
        .args(["train", "--data"])
        .arg(data("tiny.jsonl"))
        .arg("--out")
        .arg(&out)
        .arg("--actors")
        .arg(data("malformed_actors.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("malformed_actors.toml: line"));
    assert!(!out.exists(), "no model is written when training fails");
}

#[test]
fn non_utf8_training_line_is_reported() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("bad.jsonl");
    let mut bytes =
        b"{\"text\": \"Oil rose\", \"theme\": \"energy\", \"stance\": \"neutral\"}\n".to_vec();
    bytes.extend_from_slice(
        b"{\"text\": \"Gas \xff fell\", \"theme\": \"energy\", \"stance\": \"neutral\"}\n",
    );
    std::fs::write(&file, bytes).unwrap();
    vektor()
        .args(["train", "--data"])
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("m.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.jsonl:2: invalid UTF-8"));
}

#[test]
fn corrupt_and_foreign_model_files_are_rejected() {
    let (dir, model) = tiny_model();
    let truncated = dir.path().join("truncated.json");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    vektor()
        .arg("inspect")
        .arg("--model")
        .arg(&truncated)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "truncated.json: not a usable vektor model: not JSON or truncated",
        ));
    vektor()
        .arg("inspect")
        .arg("--model")
        .arg(data("foreign_model.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "expected \"format\": \"vektor-model\"",
        ));
    let newer = dir.path().join("newer.json");
    std::fs::write(
        &newer,
        String::from_utf8(bytes)
            .unwrap()
            .replacen("\"version\":1", "\"version\":99", 1),
    )
    .unwrap();
    vektor()
        .arg("inspect")
        .arg("--model")
        .arg(&newer)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("model format version Some(99)"));
}

#[test]
fn label_passes_fields_through_in_input_order_with_two_threads() {
    let (dir, model) = tiny_model();
    let input = dir.path().join("many.jsonl");
    let lines: String = (0..10_000)
        .map(|i| {
            let text = if i % 3 == 0 {
                "By Aigerim Sadykova, Almaty"
            } else {
                "Gazprom signed a new gas deal with Kazakhstan."
            };
            format!("{{\"id\": {i}, \"url\": \"u{i}\", \"text\": \"{text}\"}}\n")
        })
        .collect();
    std::fs::write(&input, lines).unwrap();
    let out = vektor()
        .arg("label")
        .arg("--threads=2")
        .arg("--model")
        .arg(&model)
        .arg(&input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 10_000);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["id"], i, "order is kept");
        assert_eq!(row["url"], format!("u{i}"));
        assert_eq!(row["theme"], if i % 3 == 0 { "other" } else { "energy" });
    }
    let kept = label_stdout(
        &model,
        &["--keep-fields=url"],
        &data("label_input.jsonl"),
        0,
    );
    let rows = json_lines(&kept);
    assert!(rows[0].get("id").is_none());
    assert_eq!(rows[0]["url"], "https://example.org/1");
}

#[test]
fn label_reads_csv_and_writes_csv_tsv_and_table() {
    let (_dir, model) = tiny_model();
    let csv = label_stdout(
        &model,
        &["--text-column=headline", "-f", "csv"],
        &data("label_input.csv"),
        0,
    );
    let csv = String::from_utf8(csv).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with(
            "source,paragraph,line,id,text,lang,uncertain_reason,theme,theme_confidence,"
        ),
        "{header}"
    );
    assert!(header.contains("stance:aligned"), "{header}");
    let second = lines.nth(1).unwrap();
    assert!(
        second.contains(",c2,\"Wheat exports rose, the ministry said.\",en,,trade,"),
        "{second}"
    );
    let tsv = label_stdout(&model, &["-f", "tsv"], &data("wrapped.txt"), 0);
    assert_eq!(String::from_utf8(tsv).unwrap().lines().count(), 1 + 3);
    vektor()
        .arg("label")
        .args(["-f", "table", "--model"])
        .arg(&model)
        .arg(data("wrapped.txt"))
        .assert()
        .success()
        .stdout(
            predicate::str::contains("other").and(predicate::str::contains("By Aigerim Sadykova")),
        );
}

#[test]
fn blank_mode_joins_hard_wrapped_lines() {
    let (_dir, model) = tiny_model();
    let out = label_stdout(&model, &["--paragraphs=blank"], &data("wrapped.txt"), 0);
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0]["text"],
        "Kazakhstan signed a new gas deal with Gazprom for ten years."
    );
    assert_eq!(rows[1]["line"], 4);
}

#[test]
fn directories_are_read_recursively() {
    let (dir, model) = tiny_model();
    let docs = dir.path().join("docs/2024");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("a.txt"), "Wheat exports rose by a fifth.\n").unwrap();
    std::fs::write(docs.join("skip.md"), "Not a text file\n").unwrap();
    let out = vektor()
        .arg("label")
        .arg("--model")
        .arg(&model)
        .arg(dir.path().join("docs"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["source"].as_str().unwrap().ends_with("a.txt"));
}

#[test]
fn bad_rows_stop_the_run_or_are_skipped_on_request() {
    let (_dir, model) = tiny_model();
    let stopped = vektor()
        .arg("label")
        .arg("--model")
        .arg(&model)
        .arg(data("label_with_bad_row.jsonl"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "label_with_bad_row.jsonl:2: text field `text` must be a string",
        ))
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        json_lines(&stopped).len(),
        1,
        "rows before the bad one are written"
    );
    let skipped = vektor()
        .arg("label")
        .args(["--on-error=skip", "--model"])
        .arg(&model)
        .arg(data("label_with_bad_row.jsonl"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("skipped 1 bad rows"))
        .get_output()
        .stdout
        .clone();
    let rows = json_lines(&skipped);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["line"], 2);
    assert!(rows[1]["error"]
        .as_str()
        .unwrap()
        .contains("must be a string"));
    assert_eq!(rows[2]["id"], "a3");
    assert_eq!(
        rows[2]["paragraph"], 3,
        "a skipped row keeps its number, so the rows after it are numbered as if it were fixed"
    );
}

#[test]
fn text_rows_spread_over_many_batches_keep_order_and_numbers() {
    let (dir, model) = tiny_model();
    let input = dir.path().join("long.txt");
    // Well over one read batch, with blank lines and CRLF endings mixed in.
    let mut text = String::from("\u{feff}");
    for i in 1..=60_000 {
        text.push_str(&format!("Paragraph {i} on oil exports and pipelines\r\n"));
        if i % 7 == 0 {
            text.push_str("   \n");
        }
    }
    std::fs::write(&input, &text).unwrap();
    let out = label_stdout(&model, &["--threads=2", "-f", "tsv"], &input, 0);
    assert_eq!(
        out,
        label_stdout(&model, &["--threads=1", "-f", "tsv"], &input, 0),
        "one thread (reading into recycled buffers on the same thread) writes the same"
    );
    let rows: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().skip(1).collect();
    assert_eq!(rows.len(), 60_000);
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<&str> = row.split('\t').collect();
        let n = i + 1;
        assert_eq!(cells[1], n.to_string(), "paragraph number of {row}");
        assert_eq!(
            cells[2],
            (n + n.saturating_sub(1) / 7).to_string(),
            "line of {row}"
        );
        assert_eq!(
            cells[3],
            format!("Paragraph {n} on oil exports and pipelines")
        );
    }
}

#[test]
fn invalid_utf8_and_empty_rows_are_located() {
    let (dir, model) = tiny_model();
    let input = dir.path().join("mixed.jsonl");
    std::fs::write(&input, b"{\"text\": \"ok\"}\n{\"text\": \"bad \xff\"}\n{\"text\": \"  \"}\n{\"title\": \"no text\"}\n").unwrap();
    let out = label_stdout(&model, &["--on-error=skip"], &input, 1);
    let errors: Vec<String> = json_lines(&out)
        .iter()
        .filter_map(|r| {
            r.get("error")
                .map(|e| format!("{}:{}", r["line"], e.as_str().unwrap()))
        })
        .collect();
    assert_eq!(
        errors,
        [
            "2:invalid UTF-8 at byte 14",
            "3:empty text",
            "4:missing text field `text` (the row has title; choose one with --text-field)"
        ]
    );
}

#[test]
fn output_file_is_written_atomically() {
    let (dir, model) = tiny_model();
    let out = dir.path().join("labels.jsonl");
    std::fs::write(&out, "previous results\n").unwrap();
    vektor()
        .arg("label")
        .arg("--model")
        .arg(&model)
        .arg("-o")
        .arg(&out)
        .arg(data("label_with_bad_row.jsonl"))
        .assert()
        .code(2);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "previous results\n",
        "a failed run leaves the old file"
    );
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".partial")
        })
        .count();
    assert_eq!(leftovers, 0);
    vektor()
        .arg("label")
        .arg("--model")
        .arg(&model)
        .arg("-o")
        .arg(&out)
        .arg(data("label_input.jsonl"))
        .assert()
        .success();
    assert_eq!(json_lines(&std::fs::read(&out).unwrap()).len(), 2);
}

#[test]
fn each_document_roll_up_follows_its_own_paragraphs() {
    let (dir, model) = tiny_model();
    let first = dir.path().join("first.txt");
    let second = dir.path().join("second.txt");
    // Enough lines that the first document fills several worker pieces.
    std::fs::write(&first, "Oil and gas exports rose.\n".repeat(700)).unwrap();
    std::fs::write(&second, "By Aigerim Sadykova, Almaty\nGas deal signed.\n").unwrap();
    let out = vektor()
        .args(["label", "--rollup", "--threads=2", "--model"])
        .arg(&model)
        .arg(&first)
        .arg(&second)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows = json_lines(&out);
    let kinds: Vec<String> = rows
        .iter()
        .map(|r| {
            let file = r["source"].as_str().unwrap().rsplit('/').next().unwrap();
            let kind = if r.get("rollup").is_some() {
                "rollup"
            } else {
                "row"
            };
            format!("{file} {kind}")
        })
        .collect();
    let mut expected = vec!["first.txt row".to_string(); 700];
    expected.push("first.txt rollup".into());
    expected.extend(["second.txt row", "second.txt row", "second.txt rollup"].map(String::from));
    assert_eq!(kinds, expected);
    assert_eq!(rows[700]["paragraphs"], 700);
}

#[test]
fn table_roll_up_after_a_skipped_first_row() {
    let (dir, model) = tiny_model();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    std::fs::write(&a, "{\"text\":\"Oil prices fell.\"}\n").unwrap();
    std::fs::write(&b, "not json\n{\"text\":\"Talks in Astana.\"}\n").unwrap();
    let out = vektor()
        .args([
            "label",
            "-f",
            "table",
            "--rollup",
            "--on-error=skip",
            "--model",
        ])
        .arg(&model)
        .arg(&a)
        .arg(&b)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.matches(": 1 paragraphs").count(), 2, "{out}");
}

#[test]
fn explain_abstain_and_rollup() {
    let (_dir, model) = tiny_model();
    let out = vektor()
        .arg("label")
        .args([
            "--explain=2",
            "--min-confidence=stance=0.999",
            "--rollup",
            "--model",
        ])
        .arg(&model)
        .arg(data("label_input.jsonl"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 3, "two paragraphs and one roll-up");
    assert_eq!(rows[0]["stance"], "uncertain");
    // The label abstains, but the scores stay: they still sum to one and
    // the best of them is the confidence that fell below the threshold.
    let scores = rows[0]["scores"]["stance"].as_object().unwrap();
    let best = scores
        .values()
        .map(|v| v.as_f64().unwrap())
        .fold(0.0, f64::max);
    let sum: f64 = scores.values().map(|v| v.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-3, "{scores:?}");
    assert_eq!(best, rows[0]["stance_confidence"].as_f64().unwrap());
    assert!(best < 0.999);
    let theme_terms = rows[0]["explain"]["theme"].as_array().unwrap();
    assert!(!theme_terms.is_empty() && theme_terms.len() <= 2);
    assert!(
        rows[0]["text"]
            .as_str()
            .unwrap()
            .contains(theme_terms[0]["text"].as_str().unwrap()),
        "terms are shown as written"
    );
    assert_eq!(rows[2]["rollup"], true);
    assert_eq!(rows[2]["paragraphs"], 2);
    let shares: f64 = rows[2]["shares"]["theme"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((shares - 1.0).abs() < 1e-3);
    vektor()
        .arg("label")
        .args(["--min-confidence=mood=0.5", "--model"])
        .arg(&model)
        .arg(data("label_input.jsonl"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("head `mood`"));
}

#[test]
fn closed_pipe_is_a_quiet_success() {
    let (dir, model) = tiny_model();
    let input = dir.path().join("big.txt");
    std::fs::write(
        &input,
        "Gazprom signed a new gas deal with Kazakhstan.\n".repeat(200_000),
    )
    .unwrap();
    let script = format!(
        "'{}' label --model '{}' '{}' | head -n 1",
        assert_cmd::cargo::cargo_bin("vektor").display(),
        model.display(),
        input.display()
    );
    let output = std::process::Command::new("bash")
        .args(["-o", "pipefail", "-c", &script])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "status {:?}, stderr {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 1);
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn eval_reports_metrics_confusion_and_mistakes() {
    let (_dir, model) = tiny_model();
    eval_of(&model, "tiny.jsonl")
        .args(["--errors=3", "--min-confidence=stance=0.5"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("head theme: accuracy 1.000")
                .and(predicate::str::contains(
                    "confusion (rows = gold, columns = predicted)",
                ))
                .and(predicate::str::contains("with abstention: coverage")),
        );
    let report = eval_json(&model, "tiny.jsonl");
    assert_eq!(report["heads"][0]["head"], "theme");
    assert_eq!(report["heads"][0]["per_class"][0]["support"], 9);
    assert_eq!(report["heads"][0]["unknown_gold"], 0);
    eval_of(&model, "missing.jsonl")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.jsonl"));
}

#[test]
fn eval_counts_gold_labels_the_model_does_not_know() {
    let (dir, model) = tiny_model();
    let file = dir.path().join("new_class.jsonl");
    std::fs::write(&file, "{\"text\": \"Troops crossed the border\", \"theme\": \"security\", \"stance\": \"neutral\"}\n{\"text\": \"Oil output rose\", \"theme\": \"energy\", \"stance\": \"neutral\"}\n").unwrap();
    vektor()
        .arg("eval")
        .arg("--model")
        .arg(&model)
        .arg("--data")
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "1 with a gold label the model does not know",
        ));
}

#[test]
fn eval_scores_the_heads_a_theme_only_file_has() {
    let (_dir, model) = tiny_model();
    eval_of(&model, "theme_only.jsonl")
        .args(["--errors=3", "--min-confidence=stance=0.5"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("theme_only.jsonl (6 paragraphs)")
                .and(predicate::str::contains("head theme: accuracy 1.000"))
                .and(predicate::str::contains(
                    "head stance: not in the data, not evaluated",
                ))
                .and(predicate::str::contains("head stance: accuracy").not()),
        );
    let report = eval_json(&model, "theme_only.jsonl");
    assert_eq!(report["rows"], 6);
    let heads = report["heads"].as_array().unwrap();
    assert_eq!(heads.len(), 1, "only the evaluated head: {report}");
    assert_eq!(heads[0]["head"], "theme");
    assert_eq!(heads[0]["accuracy"], 1.0);
    assert_eq!(report["skipped_heads"], serde_json::json!(["stance"]));
    let full = eval_json(&model, "tiny.jsonl");
    assert_eq!(full["skipped_heads"], serde_json::json!([]));
}

#[test]
fn eval_refuses_a_head_labelled_on_some_rows_only() {
    let (_dir, model) = tiny_model();
    eval_of(&model, "missing_stance_field.jsonl")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "missing_stance_field.jsonl:2: missing field `stance`, which line 1 has",
        ));
}

#[test]
fn eval_refuses_data_with_none_of_the_model_heads() {
    let (_dir, model) = tiny_model();
    eval_of(&model, "no_heads.jsonl")
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "no_heads.jsonl: has none of the label fields expected (theme, stance)",
        ));
}

#[test]
fn printed_commands_survive_a_space_and_a_quote_in_a_path() {
    let dir = TempDir::new().unwrap();
    let folder = dir.path().join("labelled data");
    std::fs::create_dir(&folder).unwrap();
    let training = folder.join("Sadykova's set.jsonl");
    std::fs::copy(data("tiny.jsonl"), &training).unwrap();
    let model = dir.path().join("m.json");
    vektor()
        .args(["train", "--min-df=1", "--data"])
        .arg(&training)
        .arg("--out")
        .arg(&model)
        .assert()
        .success();
    let inspect = vektor()
        .arg("inspect")
        .arg("--model")
        .arg(&model)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let inspect = String::from_utf8(inspect).unwrap();
    let command = inspect
        .lines()
        .find_map(|l| l.strip_prefix("reproduce: vektor "))
        .expect("inspect prints the reproduce command");
    let quoted = format!(
        "'--data={}'",
        training.display().to_string().replace('\'', r"'\''")
    );
    let retrained = dir.path().join("m-retrained.json");
    assert!(
        command.starts_with(&format!("train {quoted} --out={} ", retrained.display())),
        "the printed line writes next to the model, never over it: {command}"
    );
    // The shell must hand `vektor train` the same path back: retraining from
    // the printed line reproduces the model byte for byte.
    let script = format!(
        "'{}' {command}",
        assert_cmd::cargo::cargo_bin("vektor").display()
    );
    let output = std::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir.path())
        .env_remove("VEKTOR_MODEL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read(&retrained).unwrap(),
        std::fs::read(&model).unwrap()
    );
    vektor()
        .args([
            "tune",
            "--grid-alpha=1",
            "--grid-ngrams=1",
            "--grid-min-df=1",
            "--grid-sublinear-tf=false",
            "--grid-stem=true",
            "--grid-balance=false",
            "--grid-actors=true",
            "--data",
        ])
        .arg(&training)
        .arg("--dev")
        .arg(&training)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "best: vektor train '--data={}' --out=model.json --labels=theme,stance",
            training.display().to_string().replace('\'', r"'\''")
        )));
}

#[test]
fn cv_curve_and_tune_run_and_refuse_bad_settings() {
    vektor()
        .args(["cv", "--folds=3", "--min-df=1", "--data"])
        .arg(data("tiny.jsonl"))
        .assert()
        .success()
        .stdout(
            predicate::str::contains("theme: macro-F1")
                .and(predicate::str::contains("stance: macro-F1")),
        );
    vektor()
        .args(["cv", "--folds=9", "--data"])
        .arg(data("tiny.jsonl"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "class `other` of `theme` has 6 rows, fewer than the 9 folds",
        ));
    vektor()
        .args(["cv", "--folds=1", "--data"])
        .arg(data("tiny.jsonl"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("folds must be at least 2"));
    vektor()
        .args(["cv", "--data"])
        .arg(data("one_theme.jsonl"))
        .assert()
        .code(2);
    vektor()
        .args(["curve", "--steps=2", "--min-df=1", "--data"])
        .arg(data("tiny.jsonl"))
        .arg("--dev")
        .arg(data("tiny.jsonl"))
        .assert()
        .success()
        .stdout(predicate::str::contains("100%").and(predicate::str::contains("→")));
    vektor()
        .args([
            "tune",
            "--grid-alpha=0.5,2",
            "--grid-ngrams=1",
            "--grid-min-df=1",
            "--grid-sublinear-tf=true",
            "--grid-stem=true",
            "--grid-balance=false",
            "--grid-actors=true,false",
            "--grid-char-ngrams=4-4",
            "--grid-actor-sentences=false",
            "--data",
        ])
        .arg(data("tiny.jsonl"))
        .arg("--dev")
        .arg(data("tiny.jsonl"))
        .assert()
        .success()
        .stdout(
            predicate::str::contains("4 combinations")
                .and(predicate::str::contains("best: vektor train")),
        );
}

#[test]
fn inspect_shows_card_and_top_terms() {
    let (_dir, model) = tiny_model();
    vektor()
        .arg("inspect")
        .arg("--model")
        .arg(&model)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("(24 paragraphs, sha256 ")
                .and(predicate::str::contains(
                    "classes of stance: aligned 6, distancing 6, neutral 12",
                ))
                .and(predicate::str::contains(
                    "classes of theme: energy 9, other 6, trade 9",
                ))
                .and(predicate::str::contains("dev figures: none recorded"))
                .and(predicate::str::contains("== stance =="))
                // The strongest terms of a class are the words that mark it.
                .and(
                    predicate::str::is_match(r"(?m)^ +energy: .*\b(gas|oil|crude|power)\b")
                        .unwrap(),
                )
                .and(
                    predicate::str::is_match(r"(?m)^ +other: .*\b(by|photo|read|publish)\b")
                        .unwrap(),
                ),
        );
}

#[test]
fn input_fields_never_clash_with_output_fields() {
    let (dir, model) = tiny_model();
    let input = dir.path().join("gold.jsonl");
    std::fs::write(&input, "{\"id\": \"g1\", \"text\": \"Oil output rose\", \"theme\": \"energy\", \"stance_confidence\": 3}\n").unwrap();
    let out = vektor()
        .arg("label")
        .arg("--model")
        .arg(&model)
        .arg(&input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let line = String::from_utf8(out).unwrap();
    assert_eq!(
        line.matches("\"theme\":\"").count(),
        1,
        "one `theme` label key: {line}"
    );
    let row: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(row["input_theme"], "energy");
    assert_eq!(row["input_stance_confidence"], 3);
    assert_eq!(row["id"], "g1");
}

#[test]
fn csv_header_comes_before_a_skipped_first_row() {
    let (_dir, model) = tiny_model();
    let out = label_stdout(
        &model,
        &["--on-error=skip", "-f", "csv"],
        &data("label_with_bad_row.jsonl"),
        1,
    );
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("source,paragraph,line,id,url,text,"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 4);
    let bad = vektor()
        .arg("label")
        .args(["--on-error=skip", "-f", "csv", "--model"])
        .arg(&model)
        .write_stdin("{\"text\": 1}\n")
        .args(["--input-format", "jsonl"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(bad)
        .unwrap()
        .starts_with("source,paragraph,line,error\n-,,1,"));
    vektor()
        .arg("label")
        .args(["--rollup", "-f", "csv", "--model"])
        .arg(&model)
        .arg(data("label_input.jsonl"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "roll-ups need JSON Lines or table output",
        ));
}

#[test]
fn a_bad_line_inside_a_block_keeps_the_rest_of_the_block() {
    let (dir, model) = tiny_model();
    let input = dir.path().join("wrapped.txt");
    std::fs::write(
        &input,
        b"Kazakhstan signed a gas deal\n\xff\xfe broken\nwith Gazprom.\n\nBy Aigerim Sadykova\n",
    )
    .unwrap();
    let out = label_stdout(
        &model,
        &["--paragraphs=blank", "--on-error=skip"],
        &input,
        1,
    );
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["line"], 2);
    assert!(rows[0]["error"].as_str().unwrap().contains("invalid UTF-8"));
    assert_eq!(
        rows[1]["text"],
        "Kazakhstan signed a gas deal with Gazprom."
    );
    assert_eq!(rows[1]["line"], 1);
    assert_eq!(rows[2]["line"], 5);
}

#[test]
fn byte_order_mark_is_ignored() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("bom.jsonl");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(&std::fs::read(data("tiny.jsonl")).unwrap());
    std::fs::write(&file, bytes).unwrap();
    vektor()
        .args(["train", "--min-df=1", "--data"])
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("m.json"))
        .assert()
        .success();
}

// ---- The first hour (issue 15): what a new user trips over. ----

/// `vektor label ARGS --model MODEL` on `stdin`; the finished command.
fn label_stdin(model: &Path, args: &[&str], stdin: &str) -> assert_cmd::assert::Assert {
    vektor()
        .arg("label")
        .args(args)
        .arg("--model")
        .arg(model)
        .write_stdin(stdin)
        .assert()
}

fn partial_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".partial"))
        .collect()
}

#[test]
fn one_ctrl_d_ends_input_typed_at_a_terminal() {
    let (_dir, model) = tiny_model();
    // `script` runs vektor on a pseudo-terminal; the terminal turns the
    // Ctrl-D (\x04) after the two lines into one end of input. Standard
    // input stays open, so nothing but that one Ctrl-D can end the run.
    let command = format!(
        "'{}' label -f table --model '{}'",
        assert_cmd::cargo::cargo_bin("vektor").display(),
        model.display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("VEKTOR_MODEL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    use std::io::Write;
    stdin
        .write_all(b"Gazprom signed a new gas deal with Kazakhstan.\nBy Aigerim Sadykova, Almaty\n")
        .unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    stdin.write_all(b"\x04").unwrap();
    stdin.flush().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        status.is_some_and(|s| s.success()),
        "one Ctrl-D must end the input ({status:?}): {shown}"
    );
    assert!(
        shown.contains("energy") && shown.contains("other"),
        "{shown}"
    );
}

#[test]
fn piped_json_lines_are_read_as_json_lines() {
    let (_dir, model) = tiny_model();
    let input = "{\"id\":1,\"text\":\"Gazprom signed a new gas deal with Kazakhstan.\"}\n{\"id\":2,\"text\":\"By Aigerim Sadykova, Almaty\"}\n";
    let out = label_stdin(&model, &[], input)
        .success()
        .stderr(predicate::str::contains(
            "-: the first line is a JSON object, so it is read as JSON Lines",
        ))
        .get_output()
        .stdout
        .clone();
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], 1);
    assert_eq!(
        rows[0]["text"],
        "Gazprom signed a new gas deal with Kazakhstan."
    );
    assert_eq!(rows[0]["theme"], "energy");
    // Asked for text, it is text; and plain text is never taken for JSON.
    let out = label_stdin(&model, &["--input-format=text"], input)
        .success()
        .stderr(predicate::str::contains("JSON object").not())
        .get_output()
        .stdout
        .clone();
    assert!(json_lines(&out)[0]["text"]
        .as_str()
        .unwrap()
        .starts_with("{\"id\":1"));
    label_stdin(&model, &[], "Gazprom signed a gas deal.\n{not json}\n")
        .success()
        .stderr(predicate::str::contains("JSON object").not());
}

#[test]
fn files_that_are_not_text_are_refused_with_the_fix() {
    let (dir, model) = tiny_model();
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "article.pdf",
            b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n",
            "a PDF document, which vektor cannot read",
        ),
        (
            "report.docx",
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00",
            "a ZIP archive (DOCX",
        ),
        (
            "crawl.jsonl.gz",
            b"\x1f\x8b\x08\x00\x00\x00",
            "gzip-compressed",
        ),
        ("notes.txt", b"\xff\xfeh\x00i\x00\n\x00", "UTF-16 text"),
        ("blob", b"abc\x00\x01\x02\n", "a binary file"),
    ];
    for (name, bytes, message) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        vektor()
            .arg("label")
            .arg("--model")
            .arg(&model)
            .arg(&path)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(format!("{name}: {message}")));
    }
    vektor()
        .arg("label")
        .arg("--model")
        .arg(&model)
        .arg(dir.path().join("article.pdf"))
        .assert()
        .stderr(predicate::str::contains(
            "convert it to text first, e.g. `pdftotext",
        ));
    label_stdin(&model, &[], "%PDF-1.7\n")
        .code(2)
        .stderr(predicate::str::contains("-: a PDF document"));
    vektor()
        .args(["label", "https://example.org/news/1", "--model"])
        .arg(&model)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "https://example.org/news/1: URLs are not fetched; pipe them: `curl -sL 'https://example.org/news/1' | vektor label -`",
        ));
}

/// Starts `vektor label big.jsonl -o out.jsonl`, sends `signal` once the
/// temporary file is there, and returns the exit code.
fn interrupt_a_run(signal: &str) -> (TempDir, Option<i32>) {
    let (dir, model) = tiny_model();
    let input = dir.path().join("big.jsonl");
    let line =
        "{\"id\":1,\"text\":\"Gazprom signed a new gas deal with Kazakhstan on oil and wheat.\"}\n";
    std::fs::write(&input, line.repeat(400_000)).unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("vektor"))
        .args(["label", "--threads=1", "-q", "--model"])
        .arg(&model)
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("out.jsonl"))
        .env_remove("VEKTOR_MODEL")
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while partial_files(dir.path()).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no temporary file appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended too soon"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended too soon"
    );
    let killed = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    (dir, status.code())
}

#[test]
fn an_interrupted_run_leaves_no_temporary_file() {
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let (dir, status) = interrupt_a_run(signal);
        assert_eq!(status, Some(code), "{signal}");
        assert_eq!(partial_files(dir.path()), Vec::<String>::new(), "{signal}");
        assert!(!dir.path().join("out.jsonl").exists(), "{signal}");
    }
}

#[test]
fn delimited_output_never_drops_a_field() {
    let (dir, model) = tiny_model();
    let input = dir.path().join("crawl.jsonl");
    std::fs::write(
        &input,
        "{\"id\":1,\"text\":\"Oil prices fell.\"}\n{\"id\":2,\"text\":\"Wheat exports rose.\",\"lang\":\"en\"}\n",
    )
    .unwrap();
    for format in ["csv", "tsv"] {
        vektor()
            .args(["label", "-f", format, "--model"])
            .arg(&model)
            .arg(&input)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "crawl.jsonl:2: field `lang` has no column: CSV/TSV columns are fixed by the first row, which had id; name every field with --keep-fields, or write JSON Lines (-f jsonl)",
            ));
    }
    let out = label_stdout(&model, &["-f", "csv", "--keep-fields=id,lang"], &input, 0);
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("source,paragraph,line,id,input_lang,text,lang,uncertain_reason,"),
        "an input field named like an output field is renamed: {out}"
    );
    assert!(lines[1].contains(",1,,Oil prices fell.,en,,"), "{out}");
    assert!(lines[2].contains(",2,en,Wheat exports rose.,en,,"), "{out}");
    // --explain gets one column per head, not silence.
    let out = label_stdout(
        &model,
        &["-f", "csv", "--explain=2"],
        &data("label_input.jsonl"),
        0,
    );
    let out = String::from_utf8(out).unwrap();
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let header = reader.headers().unwrap().clone();
    let at = header
        .iter()
        .position(|h| h == "theme_explain")
        .expect("theme_explain column");
    assert!(header.iter().any(|h| h == "stance_explain"), "{header:?}");
    let first = reader.records().next().unwrap().unwrap();
    assert!(
        first[at].contains(" (+") || first[at].contains(" (-"),
        "{first:?}"
    );
}

#[test]
fn output_format_follows_the_output_extension() {
    let (dir, model) = tiny_model();
    for (name, first) in [
        ("out.csv", "source,"),
        ("out.tsv", "source\t"),
        ("out.jsonl", "{"),
    ] {
        let out = dir.path().join(name);
        vektor()
            .arg("label")
            .arg("--model")
            .arg(&model)
            .arg(data("label_input.jsonl"))
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        let written = std::fs::read_to_string(&out).unwrap();
        assert!(written.starts_with(first), "{name}: {written}");
    }
    let out = dir.path().join("forced.csv");
    vektor()
        .args(["label", "-f", "jsonl", "--model"])
        .arg(&model)
        .arg(data("label_input.jsonl"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(&out).unwrap().starts_with('{'),
        "-f wins"
    );
}

#[test]
fn directories_are_walked_by_extension() {
    let (dir, model) = tiny_model();
    let crawl = dir.path().join("crawl");
    std::fs::create_dir_all(crawl.join("day2")).unwrap();
    std::fs::write(
        crawl.join("a.jsonl"),
        "{\"id\":\"j1\",\"text\":\"Oil prices fell.\"}\n",
    )
    .unwrap();
    std::fs::write(crawl.join("b.csv"), "id,text\nc1,Wheat exports rose.\n").unwrap();
    std::fs::write(crawl.join("day2/c.tsv"), "id\ttext\nt1\tGas deal signed.\n").unwrap();
    std::fs::write(crawl.join("day2/d.txt"), "By Aigerim Sadykova\n").unwrap();
    std::fs::write(crawl.join("e.pdf"), "%PDF-1.4\n").unwrap();
    let rows = json_lines(&label_stdout(&model, &[], &crawl, 0));
    let seen: Vec<String> = rows
        .iter()
        .map(|r| {
            let file = r["source"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            format!(
                "{file} {}",
                r.get("id").map_or("-".into(), |id| id.to_string())
            )
        })
        .collect();
    assert_eq!(
        seen,
        ["a.jsonl \"j1\"", "b.csv \"c1\"", "c.tsv \"t1\"", "d.txt -"]
    );
    let nothing = dir.path().join("nothing");
    std::fs::create_dir_all(&nothing).unwrap();
    std::fs::write(nothing.join("article.pdf"), "%PDF-1.4\n").unwrap();
    std::fs::write(nothing.join("notes.md"), "# notes\n").unwrap();
    let out = dir.path().join("out.jsonl");
    vektor()
        .arg("label")
        .arg("--model")
        .arg(&model)
        .arg(&nothing)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "nothing: no files to label (*.txt, *.jsonl, *.ndjson, *.csv, *.tsv, searched recursively); it holds 2 other files: article.pdf, notes.md",
        ));
    assert!(!out.exists(), "no empty output file");
}

#[test]
fn train_defaults_are_the_shipped_options() {
    let (dir, _model) = tiny_model();
    let model = dir.path().join("defaults.json");
    // Positional, as `label` takes its files; no option flags at all.
    vektor()
        .arg("train")
        .arg(data("tiny.jsonl"))
        .arg("--out")
        .arg(&model)
        .assert()
        .success();
    let options_of = |model: Option<&Path>| -> Vec<String> {
        let mut inspect = vektor();
        inspect.arg("inspect");
        if let Some(model) = model {
            inspect.arg("--model").arg(model);
        }
        let out = inspect.assert().success().get_output().stdout.clone();
        let out = String::from_utf8(out).unwrap();
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix("reproduce: "))
            .unwrap()
            .to_string();
        line.split(' ')
            .filter(|a| {
                a.starts_with("--")
                    && !["--data=", "--out=", "--dev="]
                        .iter()
                        .any(|p| a.starts_with(p))
            })
            .map(String::from)
            .collect()
    };
    let shipped = options_of(None);
    assert!(
        shipped.contains(&"--balance=true".to_string()),
        "{shipped:?}"
    );
    assert_eq!(options_of(Some(&model)), shipped);
}

#[test]
fn a_wrong_text_field_lists_the_fields_present() {
    let (_dir, model) = tiny_model();
    vektor()
        .args(["label", "--text-field=body", "--model"])
        .arg(&model)
        .arg(data("label_input.jsonl"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "label_input.jsonl:1: missing text field `body` (the row has id, url, text; choose one with --text-field)",
        ));
    vektor()
        .args(["label", "--text-field=body", "--model"])
        .arg(&model)
        .arg(data("label_input.csv"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "header has no text column `body` (columns: ",
        ));
}

#[test]
fn rollup_by_a_field_rolls_up_each_article() {
    let (dir, model) = tiny_model();
    let input = dir.path().join("crawl.jsonl");
    std::fs::write(
        &input,
        concat!(
            "{\"url\":\"u1\",\"text\":\"Oil prices fell.\"}\n",
            "{\"url\":\"u1\",\"text\":\"Gas exports rose.\"}\n",
            "{\"url\":\"u2\",\"text\":\"By Aigerim Sadykova\"}\n",
        ),
    )
    .unwrap();
    let rows = json_lines(&label_stdout(
        &model,
        &["--rollup-by=url", "--threads=2"],
        &input,
        0,
    ));
    let kinds: Vec<String> = rows
        .iter()
        .map(|r| match r.get("rollup") {
            Some(_) => format!("rollup {} {}", r["url"], r["paragraphs"]),
            None => format!("row {}", r["url"]),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "row \"u1\"",
            "row \"u1\"",
            "rollup \"u1\" 2",
            "row \"u2\"",
            "rollup \"u2\" 1"
        ]
    );
    let table = String::from_utf8(label_stdout(
        &model,
        &["--rollup-by=url", "-f", "table"],
        &input,
        0,
    ))
    .unwrap();
    assert!(
        table.contains("crawl.jsonl url=u1: 2 paragraphs"),
        "{table}"
    );
    vektor()
        .args(["label", "--doc-field=url", "--model"])
        .arg(&model)
        .arg(&input)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "--doc-field changes nothing: the model was trained without document context",
        ));
    for flag in ["--rollup-by", "--doc-field"] {
        vektor()
            .args([
                "label",
                &format!("{flag}=url"),
                "--keep-fields=id",
                "--model",
            ])
            .arg(&model)
            .arg(&input)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "{flag} url needs `url` among --keep-fields"
            )));
    }
}

#[test]
fn table_has_a_header_and_names_each_source() {
    let (dir, model) = tiny_model();
    let a = dir.path().join("a.txt");
    let b = dir.path().join("b.txt");
    std::fs::write(&a, "Oil prices fell.\nGas exports rose.\n").unwrap();
    std::fs::write(&b, "By Aigerim Sadykova\n").unwrap();
    let out = vektor()
        .args(["label", "-f", "table", "--model"])
        .arg(&model)
        .arg(&a)
        .arg(&b)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    let header = format!("{:>5}  {:<16}  {:<16}  text", "#", "theme", "stance");
    assert_eq!(lines[0], a.display().to_string());
    assert_eq!(lines[1], header);
    assert!(lines[2].starts_with("    1  "), "{out}");
    assert!(lines[3].starts_with("    2  "), "{out}");
    assert_eq!(lines[4], "");
    assert_eq!(lines[5], b.display().to_string());
    assert_eq!(lines[6], header);
    assert!(lines[7].starts_with("    1  other"), "{out}");
}

#[test]
fn eval_warns_on_training_rows_and_unknown_classes() {
    let (dir, model) = tiny_model();
    eval_of(&model, "tiny.jsonl")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "tiny.jsonl is the file this model was trained on (same SHA-256)",
        ));
    let file = dir.path().join("new_class.jsonl");
    std::fs::write(&file, "{\"text\": \"Troops crossed the border\", \"theme\": \"security\", \"stance\": \"neutral\"}\n{\"text\": \"Oil output rose\", \"theme\": \"energy\", \"stance\": \"neutral\"}\n").unwrap();
    vektor()
        .arg("eval")
        .arg("--model")
        .arg(&model)
        .arg("--data")
        .arg(&file)
        .assert()
        .success()
        .stderr(
            predicate::str::contains(
                "warning: head theme: 1 row with a gold label the model does not know (security); left out of the scores",
            )
            .and(predicate::str::contains("trained on").not()),
        );
}

#[test]
fn help_lists_the_formats_and_readme_the_options() {
    vektor()
        .args(["label", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("[possible values: text, jsonl, csv, tsv]").and(
                predicate::str::contains("[possible values: jsonl, csv, tsv, table]"),
            ),
        );
    vektor()
        .args(["eval", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("-f, --format"));
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let labelling =
        &readme[readme.find("## Labelling").unwrap()..readme.find("## Library").unwrap()];
    let help = vektor()
        .args(["label", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(help).unwrap();
    for flag in help.split_whitespace().filter(|w| w.starts_with("--")) {
        let flag = flag.trim_end_matches(',').split('=').next().unwrap();
        if flag == "--help" {
            continue;
        }
        assert!(
            labelling.contains(flag),
            "README's labelling section lacks {flag}"
        );
    }
    assert!(labelling.contains("`-q`") && labelling.contains("progress bar"));
}

#[test]
fn the_summary_gives_time_rate_and_destination() {
    let (dir, model) = tiny_model();
    vektor()
        .arg("label")
        .arg("--model")
        .arg(&model)
        .arg(data("label_input.jsonl"))
        .assert()
        .success()
        .stderr(
            predicate::str::is_match(
                r"labelled 2 paragraphs in [0-9.]+ s \([0-9]+ paragraphs/s\) → stdout",
            )
            .unwrap(),
        );
    let out = dir.path().join("out.jsonl");
    vektor()
        .arg("label")
        .arg("--model")
        .arg(&model)
        .arg(data("label_input.jsonl"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains(format!("→ {}", out.display())));
    vektor()
        .args(["label", "-q", "--model"])
        .arg(&model)
        .arg(data("label_input.jsonl"))
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
}

#[test]
fn small_surprises_are_gone() {
    let (_dir, model) = tiny_model();
    vektor()
        .args([
            "label",
            "--min-confidence",
            "stance=0.6, theme=0.5",
            "--model",
        ])
        .arg(&model)
        .arg(data("label_input.jsonl"))
        .assert()
        .success();
    vektor()
        .args(["label", "--keep-fields=id,nosuch", "--model"])
        .arg(&model)
        .arg(data("label_input.jsonl"))
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "label_input.jsonl: the first row has no field `nosuch` to keep (it has id, url, text)",
        ));
    vektor()
        .args([
            "label",
            "--text-column=headline",
            "--keep-fields=id,nosuch",
            "--model",
        ])
        .arg(&model)
        .arg(data("label_input.csv"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "label_input.csv:1: header has no column `nosuch` to keep (columns: ",
        ));
}

#[test]
fn inspect_shows_words_rather_than_stems() {
    let out = vektor()
        .arg("inspect")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let energy = out
        .lines()
        .find(|l| l.trim_start().starts_with("energy:"))
        .unwrap();
    assert!(
        energy.contains("pipeline") && !energy.contains("pipelin,"),
        "{energy}"
    );
    // Without the training file, the stems are shown, and said to be stems.
    let dir = TempDir::new().unwrap();
    let training = dir.path().join("gone.jsonl");
    std::fs::copy(data("tiny.jsonl"), &training).unwrap();
    let model = dir.path().join("m.json");
    vektor()
        .args(["train", "--min-df=1"])
        .arg(&training)
        .arg("--out")
        .arg(&model)
        .assert()
        .success();
    std::fs::remove_file(&training).unwrap();
    vektor()
        .arg("inspect")
        .arg("--model")
        .arg(&model)
        .assert()
        .success()
        .stdout(predicate::str::contains("terms are shown as stems"));
}
