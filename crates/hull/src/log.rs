//! Every line hull writes about itself goes through `tracing` (libcontainer
//! emits `error!`, `warn!` and `debug!` events) and this small subscriber,
//! which writes them as runc does:
//!
//! - errors and warnings: one line `hull: <what failed>: <why>` on stderr,
//!   and with `--log` the same in the log file, as runc's logrus lines:
//!   `time="…" level=error msg="…"`, or `{"level":"error","msg":"…","time":"…"}`
//!   with `--log-format json` (containerd's shim reads the last error there
//!   to tell the user why a container did not start);
//! - with `--debug`, debug lines in the same format, each with the time since
//!   the previous one (`elapsed`) and the writer's pid: into `--log` only when
//!   it is given (an engine's stderr is the container's output), else stderr.
//!
//! The init and `exec`'s child inherit the subscriber across `clone3`. Their
//! fd 2 becomes the container's (a pty, the engine's pipes), so they write
//! through a descriptor opened before the clone: the log file, or a
//! close-on-exec duplicate of hull's stderr. Each line is one `write`, so
//! the lines of the parent and of its children never mix.
//!
//! No `tracing-subscriber`: this is all hull needs, and it costs nothing at
//! start-up (without `--debug`, a debug event is one atomic load).

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub struct Logger {
    /// `--log`: error, warning and (with --debug) debug lines.
    file: Option<File>,
    /// `--debug` without `--log`: debug lines go to stderr, through this
    /// duplicate of it made before any clone.
    debug_out: Option<File>,
    format: Format,
    max: LevelFilter,
    last: Mutex<Instant>,
}

impl Logger {
    pub fn open(path: Option<&Path>, format: Format, debug: bool) -> std::io::Result<Logger> {
        let file = match path {
            Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
            None => None,
        };
        // try_clone_to_owned is F_DUPFD_CLOEXEC: the container never gets it.
        let debug_out = if debug && file.is_none() {
            std::io::stderr().as_fd().try_clone_to_owned().ok().map(File::from)
        } else {
            None
        };
        let max = if debug { LevelFilter::DEBUG } else { LevelFilter::WARN };
        Ok(Logger { file, debug_out, format, max, last: Mutex::new(Instant::now()) })
    }

    /// One log line in runc's format, newline included.
    fn line(&self, level: Level, msg: &str, fields: &[(&str, String)]) -> String {
        let time = rfc3339_seconds();
        let level = level_name(level);
        match self.format {
            Format::Json => {
                // logrus's JSON formatter: one object, keys in sorted order
                // (serde_json's map is sorted).
                let mut o = serde_json::Map::new();
                o.insert("level".into(), level.into());
                o.insert("msg".into(), msg.into());
                o.insert("time".into(), time.into());
                for (k, v) in fields {
                    let v = v.parse::<u64>().map(serde_json::Value::from).unwrap_or_else(|_| v.as_str().into());
                    o.insert((*k).into(), v);
                }
                let mut s = serde_json::Value::Object(o).to_string();
                s.push('\n');
                s
            }
            Format::Text => {
                let mut s = format!("time=\"{time}\" level={level} msg=");
                push_value(&mut s, msg);
                for (k, v) in fields {
                    let _ = write!(s, " {k}=");
                    push_value(&mut s, v);
                }
                s.push('\n');
                s
            }
        }
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warning",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// logrus's text values: bare when made of `[A-Za-z0-9-._/@^+]`, else quoted.
fn push_value(s: &mut String, v: &str) {
    let bare = !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._/@^+".contains(&b));
    if bare {
        s.push_str(v);
    } else {
        let _ = write!(s, "{v:?}");
    }
}

/// `2006-01-02T15:04:05Z`: logrus's default time format, in UTC.
fn rfc3339_seconds() -> String {
    let t = libcontainer::state::now_rfc3339();
    match t.find('.') {
        Some(dot) => format!("{}Z", &t[..dot]),
        None => t,
    }
}

/// One write: lines of concurrent writers (the parent and the init) stay whole.
fn write_line(mut to: &File, line: &str) {
    let _ = to.write_all(line.as_bytes());
}

#[derive(Default)]
struct Fields {
    message: String,
    other: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.other.push((field.name(), value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.other.push((field.name(), format!("{value:?}")));
        }
    }
}

impl Subscriber for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let level = *event.metadata().level();
        if level <= Level::WARN {
            let prefix = if level == Level::ERROR { "hull: " } else { "hull: warning: " };
            let _ = std::io::stderr().write_all(format!("{prefix}{}\n", f.message).as_bytes());
            if let Some(file) = &self.file {
                write_line(file, &self.line(level, &f.message, &[]));
            }
            return;
        }
        let Some(out) = self.file.as_ref().or(self.debug_out.as_ref()) else { return };
        let now = Instant::now();
        let since = self.last.lock().map(|mut l| now - std::mem::replace(&mut *l, now)).unwrap_or_default();
        let mut fields: Vec<(&str, String)> = f.other.iter().map(|(k, v)| (*k, v.clone())).collect();
        fields.push(("elapsed", format!("{:.3}ms", since.as_secs_f64() * 1000.0)));
        fields.push(("pid", std::process::id().to_string()));
        fields.sort_by_key(|(k, _)| *k);
        write_line(out, &self.line(level, &f.message, &fields));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Makes `logger` the destination of every tracing event of this process
/// (and of the children it clones).
pub fn install(logger: Logger) {
    let _ = tracing::subscriber::set_global_default(logger);
}

pub fn error(msg: &str) {
    tracing::error!("{msg}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logger(format: Format) -> Logger {
        Logger { file: None, debug_out: None, format, max: LevelFilter::DEBUG, last: Mutex::new(Instant::now()) }
    }

    #[test]
    fn text_lines_are_logrus_lines() {
        let l = logger(Format::Text).line(Level::DEBUG, "init: mounts", &[("elapsed", "0.125ms".into())]);
        let (time, rest) = l.split_once(' ').unwrap();
        assert!(time.starts_with("time=\"20") && time.ends_with("Z\"") && time.len() == 27, "{time}");
        assert_eq!(rest, "level=debug msg=\"init: mounts\" elapsed=0.125ms\n");
        let l = logger(Format::Text).line(Level::WARN, "say \"hi\"", &[]);
        assert!(l.ends_with(" level=warning msg=\"say \\\"hi\\\"\"\n"), "{l}");
    }

    #[test]
    fn json_lines_have_sorted_keys() {
        let l = logger(Format::Json).line(Level::DEBUG, "a <b>", &[("elapsed", "1ms".into()), ("pid", "7".into())]);
        assert!(l.starts_with(r#"{"elapsed":"1ms","level":"debug","msg":"a <b>","pid":7,"time":"20"#), "{l}");
        assert!(l.ends_with("Z\"}\n"), "{l}");
    }
}
