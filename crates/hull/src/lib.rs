//! The `hull` command line as a library, so that `hull-man` can render the
//! same definition into man pages and shell completions.

pub mod checkpoint;
pub mod cli;
pub mod log;
