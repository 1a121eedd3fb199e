//! File helpers shared by the model and the writers: atomic output files
//! and the expansion of directories into the files to read.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A file written through a temporary file in the same directory and
/// renamed over its destination only by [`AtomicFile::commit`], so that an
/// interrupted or failed run never leaves a half-written file that looks
/// complete. Dropping it without committing removes the temporary file.
pub struct AtomicFile {
    path: PathBuf,
    writer: BufWriter<tempfile::NamedTempFile>,
    /// Listed for [`remove_partial_files`] until committed or dropped.
    _partial: Partial,
}

impl AtomicFile {
    /// Starts writing `path`.
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".vektor-").suffix(".partial");
        // Temporary files are private (0600) by default; the result should get
        // the usual permissions of a new file, which the umask then narrows.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
        let partial = Partial::list(temp.path());
        Ok(AtomicFile {
            _partial: partial,
            path: path.to_path_buf(),
            writer: BufWriter::with_capacity(1 << 16, temp),
        })
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        let temp = self
            .writer
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        temp.as_file().sync_all().map_err(|e| Error::io(&path, e))?;
        temp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        Ok(())
    }
}

/// A temporary file's place in the list of [`partial_files`], left when dropped.
struct Partial(PathBuf);

impl Partial {
    fn list(temp: &Path) -> Partial {
        partial_files().push(temp.to_path_buf());
        Partial(temp.to_path_buf())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        partial_files().retain(|p| *p != self.0);
    }
}

/// Temporary files of the [`AtomicFile`]s being written in this process.
fn partial_files() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    static PARTIAL: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    PARTIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the temporary files of every [`AtomicFile`] not yet committed.
///
/// For a handler of SIGINT or SIGTERM that then exits: exiting runs no
/// destructors, so without this the hidden `.vektor-*.partial` files of an
/// interrupted run would stay next to their destinations. The files being
/// written stay open, so a write racing this one lands in an unlinked file.
pub fn remove_partial_files() {
    for temp in partial_files().drain(..) {
        let _ = std::fs::remove_file(temp);
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

/// Writes `path` atomically (see [`AtomicFile`]) with `write`.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    write(&mut file).map_err(|e| Error::io(path, e))?;
    file.commit()
}

/// Extensions of the files read from a directory, each in its own format.
pub const LABELLED_EXTENSIONS: [&str; 5] = ["txt", "jsonl", "ndjson", "csv", "tsv"];

/// Expands directories into the files under them that vektor reads
/// ([`LABELLED_EXTENSIONS`], sorted, so runs are repeatable); other paths,
/// and `-` for stdin, are kept as they are. A directory with none of them
/// is an error that says what it holds.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() != "-" && path.is_dir() {
            let mut found = Vec::new();
            let mut others = Vec::new();
            collect_labelled(path, &mut found, &mut others)?;
            if found.is_empty() {
                return Err(Error::NothingToLabel {
                    path: path.clone(),
                    expected: "*.txt, *.jsonl, *.ndjson, *.csv, *.tsv",
                    holds: holdings(path, others),
                });
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// What a directory without files to label holds, in words.
fn holdings(dir: &Path, mut others: Vec<PathBuf>) -> String {
    if others.is_empty() {
        return "it holds no files".into();
    }
    others.sort();
    const SHOWN: usize = 8;
    let names: Vec<String> = others
        .iter()
        .take(SHOWN)
        .map(|p| p.strip_prefix(dir).unwrap_or(p).display().to_string())
        .collect();
    let more = match others.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    format!(
        "it holds {} other file{}: {}{more}",
        others.len(),
        if others.len() == 1 { "" } else { "s" },
        names.join(", ")
    )
}

fn collect_labelled(dir: &Path, out: &mut Vec<PathBuf>, others: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        // `file_type` does not follow symlinks, so a link back up the tree
        // cannot send the walk round in circles.
        if entry.file_type().map_err(|e| Error::io(&path, e))?.is_dir() {
            collect_labelled(&path, out, others)?;
        } else if path.extension().is_some_and(|e| {
            LABELLED_EXTENSIONS
                .iter()
                .any(|known| e.eq_ignore_ascii_case(known))
        }) {
            out.push(path);
        } else {
            others.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_old_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old").unwrap();
        let result = write_atomically(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("interrupted"))
        });
        assert!(result.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left behind"
        );
        write_atomically(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }
}
