//! Per-paragraph cost of each pipeline stage on the shipped model:
//! tokenise (words + stems), vectorise (TF-IDF with markers) and label.
//!
//! Run with `cargo bench`; end-to-end throughput is measured by
//! `scripts/bench-throughput.sh`.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vektor::features::Scratch;
use vektor::text::Analyzer;
use vektor::Model;

const PARAGRAPH: &str = "Kazakhstan's energy ministry said on Wednesday it would ship an extra \
1.5 million tonnes of crude across the Caspian Sea to Baku this year, after a Russian court \
ordered a second halt at the terminal near Novorossiysk that handles most of the country's exports.";

fn model() -> Model {
    Model::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.json"))
        .expect("models/default.json is shipped with the repository")
}

fn pipeline(c: &mut Criterion) {
    let model = model();
    let mut group = c.benchmark_group("paragraph");
    group.throughput(Throughput::Bytes(PARAGRAPH.len() as u64));

    let analyzer = Analyzer::new(true, false);
    group.bench_function("tokenise", |b| {
        b.iter(|| analyzer.terms(black_box(PARAGRAPH)))
    });

    let mut scratch = Scratch::default();
    let mut features = Vec::new();
    group.bench_function("vectorise", |b| {
        b.iter(|| {
            model.vectorizer().transform_into(
                black_box(PARAGRAPH),
                &mut scratch,
                &mut features,
                None,
            );
            features.len()
        })
    });

    let mut labeler = model.labeler();
    group.bench_function("label", |b| b.iter(|| labeler.label(black_box(PARAGRAPH))));
    group.bench_function("label+explain", |b| {
        b.iter(|| labeler.explain(black_box(PARAGRAPH), 5))
    });
    group.finish();

    // The whole training set, so that word-cache and weight lookups see a
    // real spread of words instead of one paragraph kept hot in the cache.
    let texts: Vec<String> = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("training/paragraphs.jsonl"),
    )
    .expect("training/paragraphs.jsonl is shipped with the repository")
    .lines()
    .map(|line| {
        let row: serde_json::Value = serde_json::from_str(line).expect("valid JSON Lines");
        row["text"].as_str().expect("a text field").to_string()
    })
    .collect();
    let mut group = c.benchmark_group("training set");
    group.throughput(Throughput::Bytes(
        texts.iter().map(|t| t.len() as u64).sum(),
    ));
    group.sample_size(20);
    group.bench_function("words", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| vektor::text::words(black_box(t)).count())
                .sum::<usize>()
        })
    });
    let mut scratch = Scratch::default();
    let mut features = Vec::new();
    group.bench_function("vectorise", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| {
                    model.vectorizer().transform_into(
                        black_box(t),
                        &mut scratch,
                        &mut features,
                        None,
                    );
                    features.len()
                })
                .sum::<usize>()
        })
    });
    group.bench_function("label", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| labeler.label(black_box(t)).heads.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
