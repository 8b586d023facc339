//! Request parameters as the API v3 dispatcher sees them: one tree merged from the body
//! (JSON, urlencoded or multipart fields), file parts, the query string and URL path
//! pairs (later sources win), with the three nested syntaxes (`a:b`, `a[b]`, JSON
//! objects), `__null` markers, and PHP's scalar coercions.

use super::ks::php_int;

/// A parameter value: text, an explicit null (`name__null`), or nested parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Str(String),
    Null,
    Map(Params),
}

/// An ordered map of parameters; inserting an existing key replaces its value
/// (recursively merging maps).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Vec<(String, Param)>);

/// Most keys one request may carry (a defence against absurd requests).
pub const MAX_KEYS: usize = 4096;
/// Longest key path (`a:b:c:…`).
pub const MAX_DEPTH: usize = 8;
/// Longest parameter name, in bytes.
pub const MAX_KEY_LEN: usize = 256;

/// Splits `a:b[c][d]` into `["a", "b", "c", "d"]`.
pub fn split_key(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    for piece in key.split(':') {
        let mut rest = piece;
        if let Some(i) = rest.find('[') {
            let head = &rest[..i];
            if !head.is_empty() {
                out.push(head.to_owned());
            }
            rest = &rest[i..];
            while let Some(r) = rest.strip_prefix('[') {
                match r.find(']') {
                    Some(j) => {
                        out.push(r[..j].to_owned());
                        rest = &r[j + 1..];
                    }
                    None => {
                        out.push(r.to_owned());
                        rest = "";
                    }
                }
            }
            if !rest.is_empty() {
                out.push(rest.to_owned());
            }
        } else {
            out.push(rest.to_owned());
        }
    }
    out
}

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets `value` at a key path, merging maps on the way.
    pub fn set_path(&mut self, path: &[String], value: Param) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        if rest.is_empty() {
            self.set(first, value);
            return;
        }
        let pos = self.0.iter().position(|(k, _)| k == first);
        let child = match pos {
            Some(i) => &mut self.0[i].1,
            None => {
                self.0.push((first.clone(), Param::Map(Params::new())));
                let last = self.0.len() - 1;
                &mut self.0[last].1
            }
        };
        if !matches!(child, Param::Map(_)) {
            *child = Param::Map(Params::new());
        }
        if let Param::Map(m) = child {
            m.set_path(rest, value);
        }
    }

    /// Sets one key, merging when both old and new are maps.
    pub fn set(&mut self, key: &str, value: Param) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, Param::Map(old))) if matches!(value, Param::Map(_)) => {
                if let Param::Map(new) = value {
                    old.merge(new);
                }
            }
            Some((_, old)) => *old = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    /// Inserts a flat form key (`uploadToken:fileName`, `pager[pageSize]`,
    /// `entry:name__null`). Returns false when the limits are exceeded.
    pub fn insert_flat(&mut self, key: &str, value: &str) -> bool {
        if self.count() >= MAX_KEYS || key.len() > MAX_KEY_LEN {
            return false;
        }
        let mut path = split_key(key);
        if path.len() > MAX_DEPTH || path.is_empty() {
            return false;
        }
        let mut v = Param::Str(value.to_owned());
        if let Some(last) = path.last_mut() {
            if let Some(stripped) = last.strip_suffix("__null") {
                *last = stripped.to_owned();
                v = Param::Null;
            }
            if last == "-" {
                // "explicitly empty array": the parent becomes an empty map.
                path.pop();
                v = Param::Map(Params::new());
            }
        }
        self.set_path(&path, v);
        true
    }

    /// Merges a decoded JSON object (numbers and booleans become their PHP text:
    /// `true` → "1", `false` → "0").
    pub fn merge_json(&mut self, v: &serde_json::Value) {
        if let Param::Map(m) = from_json(v, 0) {
            self.merge(m);
        }
    }

    /// Later wins, recursively.
    pub fn merge(&mut self, other: Params) {
        for (k, v) in other.0 {
            self.set(&k, v);
        }
    }

    fn count(&self) -> usize {
        self.0
            .iter()
            .map(|(_, v)| match v {
                Param::Map(m) => 1 + m.count(),
                _ => 1,
            })
            .sum()
    }

    pub fn get(&self, name: &str) -> Option<&Param> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// A text parameter (`None` when absent, null or a map).
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Param::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// A nested object parameter.
    pub fn obj(&self, name: &str) -> Option<&Params> {
        match self.get(name) {
            Some(Param::Map(m)) => Some(m),
            _ => None,
        }
    }

    /// Removes and returns a key.
    pub fn take(&mut self, name: &str) -> Option<Param> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.remove(i).1)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
}

fn from_json(v: &serde_json::Value, depth: usize) -> Param {
    match v {
        serde_json::Value::Null => Param::Null,
        serde_json::Value::Bool(b) => Param::Str(if *b { "1" } else { "0" }.into()),
        serde_json::Value::Number(n) => Param::Str(n.to_string()),
        serde_json::Value::String(s) => Param::Str(s.clone()),
        serde_json::Value::Array(items) if depth < MAX_DEPTH => Param::Map(Params(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| (i.to_string(), from_json(x, depth + 1)))
                .collect(),
        )),
        serde_json::Value::Object(o) if depth < MAX_DEPTH => Param::Map(Params(
            o.iter()
                .map(|(k, x)| (k.clone(), from_json(x, depth + 1)))
                .collect(),
        )),
        _ => Param::Null,
    }
}

/// PHP bool coercion as the API applies it: `false` (any case) is false, then PHP
/// truthiness (`""` and `"0"` are false, everything else true).
pub fn to_bool(s: &str) -> bool {
    !(s.eq_ignore_ascii_case("false") || s.is_empty() || s == "0")
}

/// PHP `(int)`.
pub fn to_int(s: &str) -> i64 {
    php_int(s)
}

/// PHP `(float)`: the leading numeric prefix, 0 when none.
pub fn to_float(s: &str) -> f64 {
    let t = s.trim_start();
    let mut end = 0;
    let b = t.as_bytes();
    let mut seen_digit = false;
    let mut seen_dot = false;
    let mut seen_e = false;
    while end < b.len() {
        let c = b[end];
        let ok = match c {
            b'0'..=b'9' => {
                seen_digit = true;
                true
            }
            b'+' | b'-' => end == 0 || matches!(b[end - 1], b'e' | b'E'),
            b'.' if !seen_dot && !seen_e => {
                seen_dot = true;
                true
            }
            b'e' | b'E' if seen_digit && !seen_e => {
                seen_e = true;
                true
            }
            _ => false,
        };
        if !ok {
            break;
        }
        end += 1;
    }
    let mut slice = &t[..end];
    while !slice.is_empty() && slice.parse::<f64>().is_err() {
        slice = &slice[..slice.len() - 1];
    }
    slice.parse().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_syntaxes_agree() {
        let mut a = Params::new();
        a.insert_flat("uploadToken:fileName", "a.mp4");
        a.insert_flat("uploadToken:fileSize", "10");
        let mut b = Params::new();
        b.insert_flat("uploadToken[fileName]", "a.mp4");
        b.insert_flat("uploadToken[fileSize]", "10");
        let mut c = Params::new();
        c.merge_json(&serde_json::json!({"uploadToken": {"fileName": "a.mp4", "fileSize": 10}}));
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(
            a.obj("uploadToken").and_then(|t| t.str("fileName")),
            Some("a.mp4")
        );
    }

    #[test]
    fn null_markers_and_precedence() {
        let mut p = Params::new();
        p.insert_flat("entry:name", "x");
        p.insert_flat("entry:name__null", "");
        assert_eq!(
            p.obj("entry").and_then(|e| e.get("name")),
            Some(&Param::Null)
        );
        let mut q = Params::new();
        q.insert_flat("format", "1");
        p.insert_flat("format", "2");
        p.merge(q);
        assert_eq!(p.str("format"), Some("1"));
        assert_eq!(
            split_key("1:uploadToken[fileName]"),
            vec!["1", "uploadToken", "fileName"]
        );
    }

    #[test]
    fn coercions() {
        for (s, b) in [
            ("False", false),
            ("false", false),
            ("0", false),
            ("", false),
            ("True", true),
            ("1", true),
            ("off", true),
        ] {
            assert_eq!(to_bool(s), b, "{s}");
        }
        assert_eq!(to_int("12abc"), 12);
        assert_eq!(to_int("abc"), 0);
        assert_eq!(to_float("-1"), -1.0);
        assert_eq!(to_float("5242880"), 5242880.0);
        assert_eq!(to_float("1.5e3x"), 1500.0);
        assert_eq!(to_float("x"), 0.0);
    }
}
