//! Writes hull's man pages (hull.1 and one per command) and the bash, zsh
//! and fish completions into a directory, from the CLI definition itself.
//!
//!     hull-man OUT_DIR        (`just man` writes target/man)

use std::path::PathBuf;

use clap::CommandFactory;
use hull::cli::Cli;

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/man".into()));
    std::fs::create_dir_all(&out)?;
    let cmd = Cli::command();
    clap_mangen::generate_to(cmd.clone(), &out)?;
    for shell in [clap_complete::Shell::Bash, clap_complete::Shell::Zsh, clap_complete::Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd.clone(), "hull", &out)?;
    }
    println!("{}", out.display());
    Ok(())
}
