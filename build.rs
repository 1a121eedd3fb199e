//! Embeds `models/default.json` into the crate, or an empty file when it does
//! not exist yet (the very first training run), so the crate always builds.
use std::path::Path;

fn main() {
    let source = Path::new("models/default.json");
    println!("cargo:rerun-if-changed={}", source.display());
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("default-model.json");
    let bytes = std::fs::read(source).unwrap_or_default();
    std::fs::write(&out, bytes).expect("OUT_DIR is writable");
}
