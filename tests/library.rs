//! The library API as a user's Rust code sees it: train, save, load, label.

use std::path::Path;

use proptest::prelude::*;
use vektor::actors::Gazetteer;
use vektor::dataset::{default_heads, TrainingSet};
use vektor::io::input::{InputOptions, Records};
use vektor::{ActorSource, Model, TrainOptions};

fn tiny_set() -> TrainingSet {
    TrainingSet::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny.jsonl"),
        &default_heads(),
    )
    .unwrap()
}

fn tiny_model() -> Model {
    vektor::train(&tiny_set(), &TrainOptions::default().min_df(1)).unwrap()
}

#[test]
fn save_and_load_round_trip_gives_identical_labels_and_bytes() {
    let model = tiny_model();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    model.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    assert_eq!(loaded.to_json_bytes(), model.to_json_bytes());
    for text in [
        "Gazprom signed a new gas deal.",
        "By Aigerim Sadykova, Almaty",
        "Moscow banned imports of wheat.",
    ] {
        assert_eq!(loaded.label(text), model.label(text));
    }
    assert_eq!(loaded.card().rows, 24);
    assert_eq!(loaded.card().class_counts["stance"]["aligned"], 6);
}

#[test]
fn gazetteer_travels_inside_the_model_file() {
    let model = tiny_model();
    let loaded = Model::from_json_bytes(&model.to_json_bytes(), Path::new("mem")).unwrap();
    assert_eq!(
        loaded.vectorizer().actors(),
        Some(&Gazetteer::default_actors())
    );
    let plain = vektor::train(
        &tiny_set(),
        &TrainOptions::default().min_df(1).actors(ActorSource::Off),
    )
    .unwrap();
    assert!(plain.vectorizer().actors().is_none());
    assert!(!plain
        .vectorizer()
        .terms()
        .iter()
        .any(|t| t.starts_with('@')));
}

#[test]
fn markers_are_vocabulary_entries_with_weights() {
    let model = tiny_model();
    let terms = model.vectorizer().terms();
    let russia = terms
        .iter()
        .position(|t| t == "@russia")
        .expect("@russia is in the vocabulary");
    let none = terms
        .iter()
        .position(|t| t == "@no-russia")
        .expect("@no-russia is in the vocabulary");
    let stance = &model.heads()[1];
    let neutral = stance.classes.iter().position(|c| c == "neutral").unwrap();
    assert!(
        stance.feature_weights(none)[neutral] > stance.feature_weights(russia)[neutral],
        "no mention of Russia pushes toward neutral"
    );
}

#[test]
fn a_paragraph_naming_only_gazprom_gets_the_russia_marker() {
    let model = tiny_model();
    let terms = model.vectorizer().terms();
    let names = |text: &str| -> Vec<String> {
        model
            .vectorizer()
            .transform(text)
            .into_iter()
            .map(|(f, _)| terms[f as usize].clone())
            .collect()
    };
    assert!(names("Gazprom raised the price").contains(&"@russia".to_string()));
    assert!(!names("Gazprom raised the price").contains(&"@no-russia".to_string()));
    assert!(names("The school opened in Almaty").contains(&"@no-russia".to_string()));
}

#[test]
fn label_batch_matches_label_in_order() {
    let model = tiny_model();
    let texts: Vec<String> = (0..500)
        .map(|i| {
            if i % 2 == 0 {
                format!("Oil output rose {i} percent")
            } else {
                "Moscow banned Kazakh wheat".to_string()
            }
        })
        .collect();
    let batch = model.label_batch(&texts);
    for (text, labels) in texts.iter().zip(&batch) {
        assert_eq!(&model.label(text), labels);
    }
}

#[test]
fn training_refuses_a_head_with_one_class() {
    let set = TrainingSet::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/one_theme.jsonl"),
        &default_heads(),
    )
    .unwrap();
    let err = vektor::train(&set, &TrainOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("head `theme` needs at least two classes"),
        "{err}"
    );
}

#[test]
fn explanation_names_words_as_written() {
    let model = tiny_model();
    let mut labeler = model.labeler();
    let (labels, explanation) = labeler.explain("GAZPROM signed a new gas deal.", 3);
    assert_eq!(labels.heads[0].label, "energy");
    assert!(
        explanation[0]
            .iter()
            .any(|c| c.text == "gas" || c.text == "GAZPROM"),
        "{:?}",
        explanation[0]
    );
    assert!(explanation.iter().flatten().all(|c| c.weight > 0.0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn tokeniser_and_labeler_never_panic(text in any::<String>()) {
        let analyzer = vektor::text::Analyzer::new(true, true);
        let _ = analyzer.terms(&text);
        for range in vektor::text::words(&text) {
            prop_assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
        }
        let model = tiny_model_cached();
        let labels = model.label(&text);
        for head in &labels.heads {
            let total: f32 = head.scores.iter().map(|(_, p)| p).sum();
            prop_assert!((total - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn readers_never_panic_on_junk(bytes in proptest::collection::vec(any::<u8>(), 0..400), format in 0usize..4) {
        let name = ["a.txt", "a.jsonl", "a.csv", "a.tsv"][format];
        let records = Records::from_reader(name, Box::new(std::io::Cursor::new(bytes)), &InputOptions::default());
        for record in records.take(1000).flatten() {
            prop_assert!(!record.text.trim().is_empty());
        }
    }
}

fn tiny_model_cached() -> &'static Model {
    static MODEL: std::sync::OnceLock<Model> = std::sync::OnceLock::new();
    MODEL.get_or_init(tiny_model)
}

#[test]
fn a_one_megabyte_paragraph_is_labelled() {
    let text = "Kazakhstan oil pipeline ".repeat(45_000);
    assert!(text.len() > 1_000_000);
    let labels = tiny_model_cached().label(&text);
    assert_eq!(labels.heads[0].label, "energy");
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn a_theme_only_file_is_scored_on_theme_alone() {
    let model = tiny_model_cached();
    let set = TrainingSet::load_present(&fixture("theme_only.jsonl"), &default_heads()).unwrap();
    assert_eq!(set.heads(), ["theme"]);
    assert_eq!(set.len(), 6);
    let reports = vektor::eval::evaluate(model, &set, &Default::default()).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].head, "theme");
    assert_eq!(vektor::eval::unevaluated_heads(model, &set), ["stance"]);
    let err = TrainingSet::load(&fixture("theme_only.jsonl"), &default_heads()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("theme_only.jsonl:1: missing field `stance`"),
        "training still needs every head: {err}"
    );
}

#[test]
fn load_present_tells_absent_heads_from_half_labelled_ones() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, content: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    };
    let nulls = write(
        "nulls.jsonl",
        "{\"text\": \"Oil rose\", \"stance\": \"neutral\", \"theme\": null}\n{\"text\": \"Gas fell\", \"stance\": \"aligned\"}\n",
    );
    let set = TrainingSet::load_present(&nulls, &default_heads()).unwrap();
    assert_eq!(set.heads(), ["stance"], "null is no label");
    assert_eq!(set.labels(0), ["neutral", "aligned"]);

    let csv = write(
        "theme.csv",
        "id,text,theme\n1,Oil rose,energy\n2,Wheat sold,trade\n",
    );
    let set = TrainingSet::load_present(&csv, &default_heads()).unwrap();
    assert_eq!(set.heads(), ["theme"]);
    assert_eq!(set.labels(0), ["energy", "trade"]);

    let half = write(
        "half.jsonl",
        "{\"text\": \"Oil rose\", \"theme\": \"energy\"}\n\n{\"text\": \"Gas fell\", \"theme\": \"energy\", \"stance\": \"aligned\"}\n",
    );
    let err = TrainingSet::load_present(&half, &default_heads()).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "half.jsonl:1: missing field `stance`, which line 3 has; label every row for `stance` or none"
        ),
        "{err}"
    );
    let half_csv = write(
        "half.csv",
        "text,theme,stance\nOil rose,energy,\nGas fell,energy,aligned\n",
    );
    let err = TrainingSet::load_present(&half_csv, &default_heads()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("half.csv:2: empty label in field `stance`"),
        "{err}"
    );

    let err = TrainingSet::load_present(&fixture("no_heads.jsonl"), &default_heads()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("no_heads.jsonl: has none of the label fields expected (theme, stance)"),
        "{err}"
    );
    let empty = write("empty.jsonl", "\n");
    let err = TrainingSet::load_present(&empty, &default_heads()).unwrap_err();
    assert!(err.to_string().ends_with("no labelled paragraphs"), "{err}");
}

/// Gives `data`, then fails like a disk that went away.
struct FailingReader {
    data: std::io::Cursor<Vec<u8>>,
}

impl std::io::Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.data.read(buf)? {
            0 => Err(std::io::Error::other("disk gone")),
            n => Ok(n),
        }
    }
}

#[test]
fn a_read_error_keeps_the_whole_lines_before_it_and_drops_the_cut_one() {
    for (name, data) in [
        ("a.txt", "one\ntwo\npartial li"),
        (
            "a.jsonl",
            "{\"text\":\"one\"}\n{\"text\":\"two\"}\n{\"text\":\"par",
        ),
    ] {
        let reader = FailingReader {
            data: std::io::Cursor::new(data.as_bytes().to_vec()),
        };
        let items: Vec<_> =
            Records::from_reader(name, Box::new(reader), &InputOptions::default()).collect();
        assert_eq!(items.len(), 3, "{name}: two rows and the error");
        assert_eq!(items[0].as_ref().unwrap().text, "one");
        assert_eq!(items[1].as_ref().unwrap().text, "two");
        let error = items[2].as_ref().unwrap_err().to_string();
        assert!(error.contains("disk gone"), "{name}: {error}");
    }
    // Blank-line paragraphs: the block the failure cut short is not labelled.
    let reader = FailingReader {
        data: std::io::Cursor::new(b"one\ntwo\n\nthree\nfou".to_vec()),
    };
    let options = InputOptions {
        paragraphs: vektor::text::ParagraphMode::Blank,
        ..InputOptions::default()
    };
    let items: Vec<_> = Records::from_reader("a.txt", Box::new(reader), &options).collect();
    assert_eq!(items.len(), 2, "one paragraph and the error");
    assert_eq!(items[0].as_ref().unwrap().text, "one two");
    assert!(items[1].is_err());
}

#[test]
fn tune_warm_starts_reach_the_scores_of_fits_from_zero() {
    use vektor::tune::{tune, Grid, Scoring};
    let heads = vec!["theme".to_string(), "stance".to_string()];
    let set = vektor::TrainingSet::load(&fixture("tiny.jsonl"), &heads).unwrap();
    let mut base = vektor::TrainOptions::default().min_df(1);
    base.tolerance = 1e-6;
    let grid = Grid {
        alpha: vec![0.1, 0.3, 1.0, 3.0],
        ngrams: vec![1, 2],
        min_df: vec![1],
        sublinear_tf: vec![true],
        max_features: vec![20_000],
        stem: vec![true],
        balance: vec![true],
        actors: vec![true],
        char_ngrams: vec![vektor::features::CharNgrams { min: 4, max: 4 }],
        actor_sentences: vec![true],
        doc_context: vec![false],
    };
    let scoring = Scoring::CrossValidation { folds: 3, seed: 7 };
    let results = tune(&set, &base, &grid, scoring, &|_, _| {}).unwrap();
    assert_eq!(results.len(), 8);
    for result in &results {
        // The same combination cross-validated on its own, every fit from zero.
        let folds = vektor::eval::cross_validate(&set, &result.options, 3, 7).unwrap();
        let per_fold: Vec<f64> = folds
            .iter()
            .map(|f| f.heads.values().map(|h| h.macro_f1).sum::<f64>() / f.heads.len() as f64)
            .collect();
        let (mean, _) = vektor::eval::mean_sd(&per_fold);
        assert!(
            (mean - result.score).abs() < 1e-9,
            "alpha {} ngrams {}: tune {} vs cv {mean}",
            result.options.alpha,
            result.options.vectorizer.ngrams,
            result.score
        );
    }
}

#[test]
fn text_the_model_cannot_read_is_labelled_uncertain_with_its_reason() {
    let model = vektor::shipped_model().unwrap();
    for (text, lang, reason) in [
        // Kazakh Cyrillic, Chinese, Arabic: another language.
        (
            "Қазақстан Ресеймен газ жеткізу туралы келісімге қол қойды",
            "other",
            Some(vektor::labels::UNKNOWN_LANGUAGE),
        ),
        (
            "哈萨克斯坦与俄罗斯签署天然气协议",
            "other",
            Some(vektor::labels::UNKNOWN_LANGUAGE),
        ),
        (
            "وقعت كازاخستان اتفاقية غاز مع روسيا",
            "other",
            Some(vektor::labels::UNKNOWN_LANGUAGE),
        ),
        // Nothing left after normalisation.
        ("— … —", "other", Some(vektor::labels::UNKNOWN_LANGUAGE)),
        (
            "2024 — 15%",
            "other",
            Some(vektor::labels::UNKNOWN_LANGUAGE),
        ),
        // A mixed-script word in a Russian sentence is still Russian.
        (
            "«Газпром» и QazaqGaz подписали соглашение о поставках газа",
            "ru",
            None,
        ),
        ("Gazprom and QazaqGaz signed a gas supply deal", "en", None),
    ] {
        let labels = model.label(text);
        assert_eq!(labels.lang.as_str(), lang, "{text}");
        assert_eq!(labels.unreadable, reason, "{text}");
        if reason.is_some() {
            assert!(
                labels.heads.iter().all(|h| h.label == vektor::UNCERTAIN),
                "{text}"
            );
        }
    }
    let russian = model.label("«Газпром» и QazaqGaz подписали соглашение о поставках газа");
    assert_eq!(russian.get("theme").unwrap().label, "energy");
}

/// A model that can only tell "The two sides signed a deal" apart by its
/// document: after a paragraph naming Moscow it is `aligned`, alone `neutral`.
fn doc_context_model() -> Model {
    use vektor::dataset::Example;
    let mut examples = Vec::new();
    for i in 0..6 {
        let doc = format!("d{i}");
        let row = |text: &str, stance: &str, doc: Option<&str>| Example {
            text: text.into(),
            labels: vec![stance.into()],
            doc: doc.map(String::from),
        };
        examples.push(row("Moscow and Astana hold talks", "aligned", Some(&doc)));
        examples.push(row("The two sides signed a deal", "aligned", Some(&doc)));
        examples.push(row("The two sides signed a deal", "neutral", None));
        examples.push(row("Farmers signed a deal", "neutral", None));
    }
    let set = TrainingSet::from_examples(vec!["stance".into()], examples).unwrap();
    let mut options = TrainOptions::default()
        .labels(vec!["stance".into()])
        .min_df(1);
    options.vectorizer.doc_context = true;
    vektor::train(&set, &options).unwrap()
}

#[test]
fn a_paragraph_sees_the_actors_named_earlier_in_its_document() {
    use vektor::batch::{label_records, BatchOptions};
    use vektor::io::output::{OutputFormat, RowWriter};
    let model = doc_context_model();
    let stances = |labels: Vec<vektor::Labels>| -> Vec<String> {
        labels
            .iter()
            .map(|l| l.heads[0].label.to_string())
            .collect()
    };
    let texts = [
        "Moscow and Astana hold talks",
        "The two sides signed a deal",
    ];
    assert_eq!(
        stances(model.label_docs(&texts, &[Some("a"), Some("a")])),
        ["aligned", "aligned"]
    );
    assert_eq!(
        stances(model.label_docs(&texts, &[Some("a"), Some("b")])),
        ["aligned", "neutral"]
    );
    // The batch engine: a text file is one document; JSON Lines rows are
    // documents by `doc_field`, and stand alone without it.
    let dir = tempfile::tempdir().unwrap();
    let article = dir.path().join("article.txt");
    std::fs::write(&article, texts.join("\n")).unwrap();
    let rows = dir.path().join("rows.jsonl");
    std::fs::write(
        &rows,
        "{\"url\":\"u1\",\"text\":\"Moscow and Astana hold talks\"}\n{\"url\":\"u1\",\"text\":\"The two sides signed a deal\"}\n{\"url\":\"u2\",\"text\":\"The two sides signed a deal\"}\n",
    )
    .unwrap();
    let run = |path: &Path, doc_field: Option<&str>, threads: usize| -> Vec<String> {
        let mut out = Vec::new();
        let options = BatchOptions {
            doc_field: doc_field.map(String::from),
            threads,
            ..BatchOptions::default()
        };
        let records = Records::open(vec![path.to_path_buf()], &InputOptions::default());
        label_records(
            &model,
            records,
            RowWriter::new(&mut out, OutputFormat::Jsonl),
            &options,
            |_| {},
        )
        .unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| {
                let row: serde_json::Value = serde_json::from_str(l).unwrap();
                row["stance"].as_str().unwrap().to_string()
            })
            .collect()
    };
    for threads in [1, 2] {
        assert_eq!(run(&article, None, threads), ["aligned", "aligned"]);
        assert_eq!(
            run(&rows, Some("url"), threads),
            ["aligned", "aligned", "neutral"]
        );
        assert_eq!(run(&rows, None, threads), ["aligned", "neutral", "neutral"]);
    }
}
