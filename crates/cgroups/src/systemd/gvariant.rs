//! `org.systemd.property.<Name>` annotations: extra properties for the
//! container's unit (runc's convention), their values in GVariant text form:
//! `"uint64 123456789"`, `"'inactive-or-failed'"`, `"true"`, `"@as ['a']"`.
//! The forms understood are the scalars systemd's properties use and arrays
//! of strings; anything else is refused, naming the annotation. As with
//! runc, a name ending in `Sec` (`TimeoutStopSec`) becomes its `USec` twin
//! and the value is converted to microseconds.

use std::collections::HashMap;

use super::dbus::Value;
use super::Property;
use crate::error::CgroupError;

const PREFIX: &str = "org.systemd.property.";

fn bad(key: &str, msg: impl Into<String>) -> CgroupError {
    CgroupError::Annotation { key: key.to_string(), msg: msg.into() }
}

/// The unit properties the annotations ask for, in the annotations' order
/// by name (a later one overrides an earlier one of the same name).
pub(crate) fn unit_properties(annotations: Option<&HashMap<String, String>>) -> Result<Vec<Property>, CgroupError> {
    let mut keys: Vec<&String> =
        annotations.into_iter().flatten().map(|(k, _)| k).filter(|k| k.starts_with(PREFIX)).collect();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let text = &annotations.expect("keys come from it")[key];
        let name = &key[PREFIX.len()..];
        if name.len() < 3 || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(bad(key, "a property name is three or more ASCII letters"));
        }
        let value = parse(text.trim()).map_err(|msg| bad(key, format!("{text:?}: {msg}")))?;
        out.push(seconds_to_usec(name, value).map_err(|msg| bad(key, format!("{text:?}: {msg}")))?);
    }
    Ok(out)
}

/// `TimeoutStopSec` → (`TimeoutStopUSec`, microseconds).
fn seconds_to_usec(name: &str, value: Value) -> Result<Property, String> {
    let Some(stem) = name.strip_suffix("Sec").filter(|s| s.ends_with(|c: char| c.is_ascii_lowercase())) else {
        return Ok((name.to_string(), value));
    };
    let secs = match value {
        Value::U64(v) => v,
        Value::U32(v) => v as u64,
        Value::I64(v) if v >= 0 => v as u64,
        Value::I32(v) if v >= 0 => v as u64,
        _ => return Err("a ...Sec property takes a number of seconds".into()),
    };
    let usec = secs.checked_mul(1_000_000).ok_or("too many seconds")?;
    Ok((format!("{stem}USec"), Value::U64(usec)))
}

/// One GVariant text value, of the forms in the module's comment.
fn parse(text: &str) -> Result<Value, String> {
    let (ty, rest) = match text.split_once(' ') {
        Some((t, r)) if t.starts_with('@') => (Some(&t[1..]), r.trim()),
        Some((t, r)) => match keyword_type(t) {
            Some(ty) => (Some(ty), r.trim()),
            None => (None, text),
        },
        None => (None, text),
    };
    match ty {
        Some("as") => string_array(rest),
        Some(ty) => typed(ty, rest),
        None if rest.starts_with('[') => string_array(rest),
        None if rest == "true" || rest == "false" => Ok(Value::Bool(rest == "true")),
        None if rest.starts_with('\'') || rest.starts_with('"') => quoted(rest).map(Value::Str),
        // An untyped number is an int32 in GVariant.
        None => typed("i", rest),
    }
}

fn keyword_type(word: &str) -> Option<&'static str> {
    Some(match word {
        "boolean" => "b",
        "byte" => "y",
        "int32" => "i",
        "uint32" => "u",
        "int64" => "x",
        "uint64" => "t",
        "string" => "s",
        _ => return None,
    })
}

fn typed(ty: &str, v: &str) -> Result<Value, String> {
    let num = |what: &str| format!("{v:?} is not {what}");
    Ok(match ty {
        "b" => match v {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(num("true or false")),
        },
        "y" => Value::Byte(v.parse().map_err(|_| num("a byte"))?),
        "i" => Value::I32(v.parse().map_err(|_| num("an int32"))?),
        "u" => Value::U32(v.parse().map_err(|_| num("a uint32"))?),
        "x" => Value::I64(v.parse().map_err(|_| num("an int64"))?),
        "t" => Value::U64(v.parse().map_err(|_| num("a uint64"))?),
        "s" => Value::Str(quoted(v)?),
        other => return Err(format!("type {other:?} is not supported (b y i u x t s as are)")),
    })
}

/// `'text'` or `"text"`, with backslash escapes of quotes and backslashes.
fn quoted(v: &str) -> Result<String, String> {
    let q = v.chars().next().filter(|c| *c == '\'' || *c == '"').ok_or("a string must be quoted")?;
    let mut out = String::new();
    let mut chars = v[1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or("unterminated string")?),
            c if c == q => {
                return if chars.as_str().trim().is_empty() { Ok(out) } else { Err("text after the string".into()) };
            }
            c => out.push(c),
        }
    }
    Err("unterminated string".into())
}

/// `['a', 'b']` (or `[]`).
fn string_array(v: &str) -> Result<Value, String> {
    let inner = v.strip_prefix('[').and_then(|r| r.strip_suffix(']')).ok_or("an array is written [...]")?.trim();
    let mut items = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let q =
            rest.chars().next().filter(|c| *c == '\'' || *c == '"').ok_or("only arrays of strings are supported")?;
        // The end of this string: the next unescaped quote of the same kind.
        let mut end = None;
        let mut escaped = false;
        for (i, c) in rest.char_indices().skip(1) {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                c if c == q => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.ok_or("unterminated string")?;
        items.push(Value::Str(quoted(&rest[..=end])?));
        rest = rest[end + 1..].trim_start();
        rest = match rest.strip_prefix(',') {
            Some(r) => r.trim_start(),
            None if rest.is_empty() => rest,
            None => return Err("array items are separated by commas".into()),
        };
    }
    Ok(Value::Array("s".into(), items))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Result<Vec<Property>, CgroupError> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (format!("{PREFIX}{k}"), v.to_string())).collect();
        unit_properties(Some(&m))
    }

    #[test]
    fn runcs_examples() {
        let p = props(&[("TimeoutStopUSec", "uint64 123456789"), ("CollectMode", "'inactive-or-failed'")]).unwrap();
        assert_eq!(
            p,
            vec![
                ("CollectMode".to_string(), Value::str("inactive-or-failed")),
                ("TimeoutStopUSec".to_string(), Value::U64(123_456_789)),
            ]
        );
    }

    #[test]
    fn sec_becomes_usec() {
        let p = props(&[("TimeoutStopSec", "uint64 90")]).unwrap();
        assert_eq!(p, vec![("TimeoutStopUSec".to_string(), Value::U64(90_000_000))]);
        let p = props(&[("RuntimeMaxSec", "5")]).unwrap();
        assert_eq!(p, vec![("RuntimeMaxUSec".to_string(), Value::U64(5_000_000))]);
    }

    #[test]
    fn scalar_and_array_forms() {
        assert_eq!(parse("true").unwrap(), Value::Bool(true));
        assert_eq!(parse("@b false").unwrap(), Value::Bool(false));
        assert_eq!(parse("42").unwrap(), Value::I32(42));
        assert_eq!(parse("@t 42").unwrap(), Value::U64(42));
        assert_eq!(parse("uint32 7").unwrap(), Value::U32(7));
        assert_eq!(parse("\"it's\"").unwrap(), Value::str("it's"));
        assert_eq!(parse("'a\\'b'").unwrap(), Value::str("a'b"));
        assert_eq!(
            parse("['a.service', \"b, c\"]").unwrap(),
            Value::Array("s".into(), vec![Value::str("a.service"), Value::str("b, c")])
        );
        assert_eq!(parse("@as []").unwrap(), Value::Array("s".into(), vec![]));
    }

    #[test]
    fn the_rest_is_refused_by_name() {
        for (k, v) in [
            ("Ab", "1"),
            ("Bad1", "1"),
            ("Foo", "{'a': <1>}"),
            ("Foo", "@a{sv} {}"),
            ("Foo", "'open"),
            ("Foo", "uint64 x"),
        ] {
            let e = props(&[(k, v)]).unwrap_err().to_string();
            assert!(e.contains(&format!("{PREFIX}{k}")), "{e}");
        }
        assert!(props(&[("TimeoutStopSec", "'x'")]).is_err());
    }

    #[test]
    fn other_annotations_are_not_properties() {
        let m: HashMap<String, String> = [("io.kubernetes.pod.name".to_string(), "x".to_string())].into();
        assert!(unit_properties(Some(&m)).unwrap().is_empty());
        assert!(unit_properties(None).unwrap().is_empty());
    }
}
