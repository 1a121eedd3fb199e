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
        header.starts_with("source,paragraph,line,id,text,theme,theme_confidence,"),
        "{header}"
    );
    assert!(header.contains("stance:aligned"), "{header}");
    let second = lines.nth(1).unwrap();
    assert!(
        second.contains(",c2,\"Wheat exports rose, the ministry said.\",trade,"),
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
