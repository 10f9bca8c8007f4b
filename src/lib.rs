//! design-coach: a coach for system design interviews.
//!
//! Layers call downward only: `content` (files and validation) -> `grading` (pure scoring)
//! -> front ends (`terminal` and the command line in `main.rs`).

pub mod content;
pub mod eval;
pub mod grading;
pub mod terminal;
