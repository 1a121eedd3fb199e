//! # vektor
//!
//! Labels paragraphs of news and analysis by **theme** (energy, trade,
//! security, diplomacy …) and by **stance toward Moscow** (aligned,
//! distancing, balancing, neutral), with a confidence for each.
//!
//! The pipeline flows one way: text → words and terms ([`text`], with actor
//! markers from [`actors`]) → a sparse TF-IDF vector ([`features`]) → one
//! probability per class and head ([`model`]) → records ([`io`]). [`train`]
//! fits a model on labelled paragraphs ([`dataset`]); [`eval`] measures one
//! on held-out data; [`tune`] searches training options.
//!
//! ```no_run
//! use vektor::Model;
//!
//! let model = Model::load("models/default.json".as_ref())?;
//! let labels = model.label("Kazakhstan will not help Russia bypass sanctions, the minister said.");
//! for head in &labels.heads {
//!     println!("{}: {} ({:.0}%)", head.head, head.label, head.confidence * 100.0);
//! }
//! # Ok::<(), vektor::Error>(())
//! ```

#![warn(missing_docs)]

pub mod actors;
pub mod batch;
pub mod dataset;
pub mod error;
pub mod eval;
pub mod features;
pub mod files;
pub mod io;
pub mod labels;
pub mod model;
pub mod text;
pub mod tune;

pub use dataset::{Example, TrainingSet};
pub use error::{Error, Result};
pub use labels::{Contribution, HeadLabel, Labels, UNCERTAIN};
pub use model::{train, ActorSource, Labeler, LabelerPool, Model, ModelCard, TrainOptions};

/// The shipped default model (`models/default.json`), embedded at build time
/// so that an installed binary works from any directory.
pub fn shipped_model() -> Result<Model> {
    let bytes: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/default-model.json"));
    if bytes.is_empty() {
        return Err(Error::Model {
            path: "<embedded>".into(),
            message:
                "this build has no shipped model (models/default.json was missing); pass --model"
                    .into(),
        });
    }
    Model::from_json_bytes(bytes, "<embedded models/default.json>".as_ref())
}
