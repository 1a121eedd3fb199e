//! The shipped model: it holds its recorded quality on the dev set, it is
//! reproduced byte for byte by the command in its card, the binary embeds
//! the same model, and it labels clear-cut paragraphs as a reader would.

use std::collections::BTreeMap;
use std::path::PathBuf;

use vektor::dataset::TrainingSet;
use vektor::Model;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> Model {
    Model::load(&root().join("models/default.json")).expect("models/default.json loads")
}

#[test]
fn dev_scores_do_not_fall_below_the_card() {
    let model = shipped();
    let recorded = model
        .card()
        .dev
        .clone()
        .expect("the shipped model records its dev figures");
    let heads: Vec<String> = model.heads().iter().map(|h| h.name.clone()).collect();
    let dev = TrainingSet::load(&root().join(&recorded.file), &heads).unwrap();
    let reports = vektor::eval::evaluate(&model, &dev, &BTreeMap::new()).unwrap();
    for report in reports {
        let card = &recorded.heads[&report.head];
        assert!(
            report.macro_f1 >= card.macro_f1 - 0.02,
            "{}: dev macro-F1 {:.3} fell below the card's {:.3} - 0.02",
            report.head,
            report.macro_f1,
            card.macro_f1
        );
    }
}

#[test]
fn the_recorded_command_reproduces_the_shipped_file() {
    // The command as `vektor inspect` prints it, with its output moved to a
    // temporary directory.
    let inspect = std::process::Command::new(assert_cmd::cargo::cargo_bin("vektor"))
        .current_dir(root())
        .args(["inspect", "--model", "models/default.json"])
        .output()
        .unwrap();
    assert!(inspect.status.success());
    let report = String::from_utf8(inspect.stdout).unwrap();
    let command = report
        .lines()
        .find_map(|l| l.strip_prefix("reproduce: "))
        .expect("inspect prints a reproduce line")
        .to_string();
    assert!(command.starts_with("vektor train "), "{command}");
    assert!(
        command.contains(" --out=models/default-retrained.json "),
        "the printed command must not overwrite the model: {command}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("retrained.json");
    let out_arg = format!("--out={}", out.display());
    let args: Vec<&str> = command
        .split_whitespace()
        .skip(2)
        .map(|a| {
            if a.starts_with("--out=") {
                out_arg.as_str()
            } else {
                a
            }
        })
        .collect();
    let status = std::process::Command::new(assert_cmd::cargo::cargo_bin("vektor"))
        .current_dir(root())
        .arg("train")
        .args(&args)
        .status()
        .unwrap();
    assert!(status.success(), "{command}");
    let retrained = std::fs::read(&out).unwrap();
    let original = std::fs::read(root().join("models/default.json")).unwrap();
    assert!(
        retrained == original,
        "retraining with `{command}` gave a different file"
    );
}

#[test]
fn the_binary_embeds_the_shipped_file() {
    let embedded = vektor::shipped_model().unwrap();
    assert_eq!(
        embedded.to_json_bytes(),
        std::fs::read(root().join("models/default.json")).unwrap()
    );
}

#[test]
fn clear_cut_paragraphs_get_the_expected_labels() {
    let model = shipped();
    let cases = [
        ("Photo: Vladimir Tretyakov / press service", "other", "neutral"),
        ("The central election commission said turnout in the parliamentary vote reached 54 percent.", "domestic", "neutral"),
        (
            "Kazakh banks have stopped processing payments for Russian clients to avoid secondary sanctions, the national bank confirmed.",
            "sanctions",
            "distancing",
        ),
        (
            "The two presidents agreed to extend the treaty on supplying Russian fuel to Kazakh refineries for another five years.",
            "energy",
            "aligned",
        ),
        (
            "A container train from Chongqing reached the dry port at Khorgos in eight days, the railway operator said.",
            "transport",
            "neutral",
        ),
    ];
    for (text, theme, stance) in cases {
        let labels = model.label(text);
        assert_eq!(labels.get("theme").unwrap().label, theme, "{text}");
        assert_eq!(labels.get("stance").unwrap().label, stance, "{text}");
    }
}
