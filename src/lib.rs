//! design-coach: a coach for system design interviews.
//!
//! Layers call downward only: `content` (files and validation) -> `grading` (pure scoring)
//! -> `coach` (sessions, quizzes, streaks; given a clock and a store) -> `store` (SQLite, the
//! only SQL). The front ends (`terminal`, the command line in `main.rs`) are thin.

pub mod coach;
pub mod content;
pub mod discord;
pub mod eval;
pub mod grading;
pub mod store;
pub mod terminal;
