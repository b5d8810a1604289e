//! Error and warning output: one line `hull: <what failed>: <why>` on stderr,
//! and with --log the same line in the log file, as text or as runc's JSON
//! (`{"level":"error","msg":"…","time":"…"}`), which containerd's shim reads
//! to show the user why a container did not start.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub struct Logger {
    file: Option<File>,
    format: Format,
}

static LOGGER: Mutex<Option<Logger>> = Mutex::new(None);

impl Logger {
    pub fn open(path: Option<&Path>, format: Format) -> std::io::Result<Logger> {
        let file = match path {
            Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
            None => None,
        };
        Ok(Logger { file, format })
    }

    fn write(&mut self, level: &str, msg: &str) {
        let Some(f) = self.file.as_mut() else { return };
        let time = libcontainer::state::now_rfc3339();
        let line = match self.format {
            Format::Json => serde_json::json!({ "level": level, "msg": msg, "time": time }).to_string(),
            Format::Text => format!("time=\"{time}\" level={level} msg={msg:?}"),
        };
        let _ = writeln!(f, "{line}");
    }
}

pub fn install(logger: Logger) {
    if let Ok(mut g) = LOGGER.lock() {
        *g = Some(logger);
    }
    libcontainer::set_warning_sink(warn);
}

fn emit(level: &str, msg: &str) {
    if let Ok(mut g) = LOGGER.lock() {
        if let Some(l) = g.as_mut() {
            l.write(level, msg);
        }
    }
}

pub fn error(msg: &str) {
    eprintln!("hull: {msg}");
    emit("error", msg);
}

pub fn warn(msg: &str) {
    eprintln!("hull: warning: {msg}");
    emit("warning", msg);
}
