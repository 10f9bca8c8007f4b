//! Content: frameworks, questions, rubrics, concepts, the checklist, red flags and the quiz
//! bank, loaded from TOML (embedded in the binary, or a directory for authors) and validated.

mod load;
mod model;
pub mod pattern;
mod raw;

pub use load::{Source, closest, edit_distance, load};
pub use model::*;

use std::fmt;

/// One problem in one content file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ContentError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl ContentError {
    /// A problem with a file as a whole (missing, unreadable, misplaced).
    pub fn whole(file: String, message: impl Into<String>) -> Self {
        Self { file, line: 1, message: message.into() }
    }
}

/// Everything wrong with the content, in file order.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ContentErrors(pub Vec<ContentError>);

impl fmt::Display for ContentErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        writeln!(f, "the content has {count} problem{}:", if count == 1 { "" } else { "s" })?;
        for error in &self.0 {
            writeln!(f, "  {error}")?;
        }
        Ok(())
    }
}
