//! Training options on the command line: each option is declared once below,
//! and its flag, its default (taken from the library's
//! [`TrainOptions::default`]) and its rendering in a reproduce command all
//! come from that one declaration. `train`, `cv`, `tune`, `curve`, `inspect`
//! and the model card's command therefore cannot disagree.

use std::borrow::Cow;

use anyhow::Result;
use clap::{ArgAction, Args};
use vektor::features::CharNgrams;
use vektor::model::Solver;
use vektor::{ActorSource, ModelCard, TrainOptions};

/// Declares the training flags. For each option: its doc line (the `--help`
/// text), the field and type of [`TrainArgs`], how to read the value from
/// [`TrainOptions`] (`get`) and how to write it back (`set`).
macro_rules! train_flags {
    ($(
        #[doc = $doc:literal]
        $(#[arg($($arg:tt)*)])?
        $field:ident: $ty:ty,
        get |$o:ident| $get:expr,
        set |$s:ident, $v:ident| $set:expr;
    )*) => {
        /// Training options shared by `train`, `cv`, `tune` and `curve`.
        #[derive(Debug, Args, Clone)]
        pub struct TrainArgs {
            $(
                #[doc = $doc]
                #[arg(long, default_value_t = { let $o = TrainOptions::default(); $get }
                      $(, $($arg)*)?)]
                $field: $ty,
            )*
        }

        impl TrainArgs {
            /// The options these flags give, checked.
            pub fn options(&self) -> Result<TrainOptions> {
                let mut options = TrainOptions::default();
                $({
                    let $s = &mut options;
                    let $v: $ty = self.$field.clone();
                    $set;
                })*
                options.check()?;
                Ok(options)
            }
        }

        /// The `vektor train` flags that reproduce `options`, one string per
        /// argument, unquoted: every option, so the line does not depend on
        /// the defaults of the vektor that reads it.
        pub fn to_args(options: &TrainOptions) -> Vec<String> {
            vec![$({
                let $o = options;
                let value: $ty = $get;
                format!("--{}={}", stringify!($field).replace('_', "-"), value)
            }),*]
        }
    };
}

train_flags! {
    /// Label fields to train heads for, comma-separated.
    labels: LabelList,
    get |o| LabelList(o.labels.clone()),
    set |o, v| o.labels = v.0;
    /// Longest word n-gram (1–3).
    ngrams: usize,
    get |o| o.vectorizer.ngrams,
    set |o, v| o.vectorizer.ngrams = v;
    /// Keep only features found in at least this many paragraphs.
    min_df: usize,
    get |o| o.vectorizer.min_df,
    set |o, v| o.vectorizer.min_df = v;
    /// Drop features found in more than this share of paragraphs.
    max_df: f64,
    get |o| o.vectorizer.max_df,
    set |o, v| o.vectorizer.max_df = v;
    /// Keep at most this many features, the most frequent (0 = all).
    max_features: usize,
    get |o| o.vectorizer.max_features,
    set |o, v| o.vectorizer.max_features = v;
    /// Use 1 + ln(count) as term frequency (true/false).
    #[arg(action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    sublinear_tf: bool,
    get |o| o.vectorizer.sublinear_tf,
    set |o, v| o.vectorizer.sublinear_tf = v;
    /// Stem words (true/false).
    #[arg(action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    stem: bool,
    get |o| o.vectorizer.stem,
    set |o, v| o.vectorizer.stem = v;
    /// Drop English stop words (true/false).
    #[arg(action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    stop_words: bool,
    get |o| o.vectorizer.stop_words,
    set |o, v| o.vectorizer.stop_words = v;
    /// Character n-grams within words: `off`, or MIN-MAX characters (e.g. 3-5).
    char_ngrams: CharNgrams,
    get |o| o.vectorizer.char_ngrams,
    set |o, v| o.vectorizer.char_ngrams = v;
    /// Separate features from the sentences that name a focus actor (true/false).
    #[arg(action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    actor_sentences: bool,
    get |o| o.vectorizer.actor_sentences,
    set |o, v| o.vectorizer.actor_sentences = v;
    /// Let paragraphs see the actors named earlier in their document (true/false).
    #[arg(action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    doc_context: bool,
    get |o| o.vectorizer.doc_context,
    set |o, v| o.vectorizer.doc_context = v;
    /// L2 penalty (larger = smoother model).
    alpha: f64,
    get |o| o.alpha,
    set |o, v| o.alpha = v;
    /// Solver iteration limit.
    max_iterations: u64,
    get |o| o.max_iterations,
    set |o, v| o.max_iterations = v;
    /// Solver gradient tolerance.
    tolerance: f64,
    get |o| o.tolerance,
    set |o, v| o.tolerance = v;
    /// Weigh every class the same (true/false).
    #[arg(action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    balance: bool,
    get |o| o.balance,
    set |o, v| o.balance = v;
    /// Actor gazetteer: `shipped`, `none`, or a TOML file.
    actors: ActorSource,
    get |o| o.actors.clone(),
    set |o, v| o.actors = v;
    /// Solver: `sparse` (fast, class weights) or `linfa` (dense reference, oversampling).
    solver: Solver,
    get |o| o.solver,
    set |o, v| o.solver = v;
}

/// `--labels theme,stance`: a comma-separated list that renders back the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelList(Vec<String>);

impl std::str::FromStr for LabelList {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(LabelList(
            s.split(',')
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect(),
        ))
    }
}

impl std::fmt::Display for LabelList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

/// The `vektor train` command line that reproduces a model from its card,
/// writing it to `out`, quoted for a POSIX shell so it can be pasted as it is.
pub fn reproduce_command(card: &ModelCard, out: &str) -> String {
    let dev = card.dev.as_ref().map(|dev| dev.file.as_str());
    train_command(&card.training_file, &card.options, dev, out)
}

/// `vektor train --data=… --out=… <options> [--dev=…]`, quoted for a shell.
pub fn train_command(data: &str, options: &TrainOptions, dev: Option<&str>, out: &str) -> String {
    let mut args = vec![format!("--data={data}"), format!("--out={out}")];
    args.extend(to_args(options));
    if let Some(dev) = dev {
        args.push(format!("--dev={dev}"));
    }
    format!("vektor train {}", shell_join(&args))
}

/// Where a printed reproduce command writes its model: next to `model`, with
/// `-retrained` added, so that pasting the line never overwrites the model
/// it was printed from (nor the shipped one).
pub fn retrained_path(model: Option<&std::path::Path>) -> String {
    match model {
        Some(path) => {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy())
                .unwrap_or_default();
            path.with_file_name(format!("{stem}-retrained.json"))
                .display()
                .to_string()
        }
        None => "model.json".to_string(),
    }
}

/// `arg` as one word for a POSIX shell: as it is when it holds only
/// characters no shell treats specially, else in single quotes, with a `'`
/// inside written `'\''`.
pub fn shell_quote(arg: &str) -> Cow<'_, str> {
    // The characters Python's `shlex.quote` leaves alone: none of them
    // expands, globs, redirects or ends a word in a POSIX shell.
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        Cow::Borrowed(arg)
    } else {
        Cow::Owned(format!("'{}'", arg.replace('\'', r"'\''")))
    }
}

/// `args` quoted with [`shell_quote`] and joined by spaces: a command line
/// that a shell splits back into exactly `args`.
pub fn shell_join<S: AsRef<str>>(args: impl IntoIterator<Item = S>) -> String {
    args.into_iter()
        .map(|arg| shell_quote(arg.as_ref()).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use clap::Parser;
    use vektor::model::DevSummary;

    use super::*;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        train: TrainArgs,
    }

    fn parse(args: &[&str]) -> TrainOptions {
        Cmd::try_parse_from(std::iter::once("train").chain(args.iter().copied()))
            .unwrap()
            .train
            .options()
            .unwrap()
    }

    #[test]
    fn no_flags_give_the_library_defaults() {
        assert_eq!(parse(&[]), TrainOptions::default());
    }

    #[test]
    fn rendered_flags_parse_back_to_the_same_options() {
        let options = TrainOptions::default()
            .alpha(0.3)
            .ngrams(1)
            .min_df(3)
            .max_features(500)
            .sublinear_tf(true)
            .stem(false)
            .balance(true)
            .actors(ActorSource::File("my actors.toml".into()))
            .labels(vec!["stance".into()]);
        let args = to_args(&options);
        let back = parse(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(back, options, "{args:?}");
        let off = TrainOptions::default().actors(ActorSource::Off);
        assert_eq!(parse(&["--actors=none"]), off);
        assert!(to_args(&off).contains(&"--actors=none".to_string()));
    }

    #[test]
    fn a_bare_switch_turns_it_on() {
        assert!(parse(&["--balance"]).balance);
        assert!(
            parse(&["--sublinear-tf", "--alpha", "2"])
                .vectorizer
                .sublinear_tf
        );
        assert!(!parse(&["--stem=false"]).vectorizer.stem);
    }

    #[test]
    fn plain_arguments_are_not_quoted() {
        for arg in [
            "--data=training/paragraphs.jsonl",
            "--labels=theme,stance",
            "--tolerance=0.0001",
            "--out=/tmp/models/default.json",
            "user@host:path+v1%_x",
        ] {
            assert!(matches!(shell_quote(arg), Cow::Borrowed(a) if a == arg));
        }
    }

    #[test]
    fn arguments_a_shell_would_change_are_single_quoted() {
        for (arg, quoted) in [
            ("--data=my data.jsonl", "'--data=my data.jsonl'"),
            ("--data=Sadykova's.jsonl", r"'--data=Sadykova'\''s.jsonl'"),
            ("''", r"''\'''\'''"),
            ("", "''"),
            ("$HOME/x", "'$HOME/x'"),
            ("a;rm -rf b", "'a;rm -rf b'"),
            ("*.jsonl", "'*.jsonl'"),
            ("~/data.jsonl", "'~/data.jsonl'"),
            (r"back\slash", r"'back\slash'"),
            ("d\u{e9}j\u{e0}.jsonl", "'d\u{e9}j\u{e0}.jsonl'"),
            ("two\nlines", "'two\nlines'"),
        ] {
            assert_eq!(shell_quote(arg), quoted, "{arg:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_shell_splits_a_joined_line_back_into_the_arguments() {
        let args = [
            "--data=my data/p's.jsonl",
            "",
            "$(echo no)",
            "`echo no`",
            "a|b&c>d<e",
            r"back\slash",
            "tab\there",
            "two\nlines",
            "!event",
            "*",
            "plain",
        ];
        let script = format!(r"printf '%s\0' {}", shell_join(args));
        let output = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(output.status.success(), "{script}");
        let out = String::from_utf8(output.stdout).unwrap();
        let back: Vec<&str> = out.strip_suffix('\0').unwrap().split('\0').collect();
        assert_eq!(back, args);
    }

    fn card(training_file: &str, actors: ActorSource) -> ModelCard {
        ModelCard {
            vektor_version: "0.0.0".into(),
            training_file: training_file.into(),
            training_sha256: String::new(),
            rows: 0,
            class_counts: BTreeMap::new(),
            vocabulary: 0,
            options: TrainOptions::default().actors(actors),
            dev: Some(DevSummary {
                file: "training/dev.jsonl".into(),
                sha256: String::new(),
                rows: 0,
                heads: BTreeMap::new(),
            }),
            fits: BTreeMap::new(),
        }
    }

    #[test]
    fn card_command_quotes_only_the_arguments_that_need_it() {
        let plain = card("training/paragraphs.jsonl", ActorSource::Shipped);
        assert_eq!(
            reproduce_command(&plain, "models/default.json"),
            format!(
                "vektor train --data=training/paragraphs.jsonl --out=models/default.json {} --dev=training/dev.jsonl",
                to_args(&plain.options).join(" ")
            )
        );
        let spaced = card(
            "my data/Sadykova's.jsonl",
            ActorSource::File("my actors.toml".into()),
        );
        let command = reproduce_command(&spaced, "out dir/m.json");
        assert!(
            command.starts_with(
                r"vektor train '--data=my data/Sadykova'\''s.jsonl' '--out=out dir/m.json' --labels=theme,stance "
            ),
            "{command}"
        );
        assert!(
            command
                .ends_with(" '--actors=my actors.toml' --solver=sparse --dev=training/dev.jsonl"),
            "{command}"
        );
    }

    #[test]
    fn the_printed_command_never_writes_over_the_model_it_came_from() {
        assert_eq!(
            retrained_path(Some(std::path::Path::new("models/default.json"))),
            "models/default-retrained.json"
        );
        assert_eq!(retrained_path(None), "model.json");
    }
}
