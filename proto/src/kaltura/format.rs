//! Response envelopes and serializers for `format` 1 (JSON), 2 (XML, the default),
//! 3 (PHP `serialize()`) and 9 (JSONP), exactly as the Kaltura server writes them:
//! JSON escapes `/` and non-ASCII like PHP's `json_encode`; XML puts `objectType`
//! first and prints doubles with `%.14G`; errors follow §5.1 of the spec.

use std::fmt::Write;

use super::value::{ApiError, Object, Value};

/// Response formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
    Php,
    Jsonp,
}

impl Format {
    /// From the `format` parameter; `None` for an unknown value.
    pub fn from_param(p: Option<&str>) -> Option<Self> {
        match p.map(str::trim) {
            None | Some("") | Some("2") => Some(Format::Xml),
            Some("1") => Some(Format::Json),
            Some("3") => Some(Format::Php),
            Some("9") => Some(Format::Jsonp),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Xml => "text/xml",
            // Kaltura's server sends PHP's default `text/html`; user strings (file and
            // entry names) go out raw in this format, so a browser opening such a URL
            // would run them on the gateway's origin. `text/plain` (and `nosniff`) keeps
            // them text; the PHP client unserializes the body whatever its type.
            Format::Php => "text/plain; charset=utf-8",
            Format::Jsonp => "application/javascript",
        }
    }
}

/// Options that change serialization.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// XML omits null properties (`ignoreNull=1`).
    pub ignore_null: bool,
    /// JSONP callback (`format=9`), already validated.
    pub callback: String,
    /// Seconds spent, for XML's `executionTime`.
    pub execution_time: f64,
}

/// The whole response body for `value` in `format`.
pub fn envelope(value: &Value, format: Format, o: &Options) -> String {
    match format {
        Format::Json => json(value),
        Format::Jsonp => format!("{}({});", o.callback, json(value)),
        Format::Php => php(value),
        Format::Xml => {
            let mut s = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><xml><result>");
            xml_value(&mut s, value, o.ignore_null);
            let _ = write!(
                s,
                "</result><executionTime>{}</executionTime></xml>",
                g14(o.execution_time)
            );
            s
        }
    }
}

/// A multi-request answer: each slot a value or an error.
pub fn envelope_multi(values: &[Value], format: Format, o: &Options) -> String {
    envelope(&Value::Array(values.to_vec()), format, o)
}

// ---------- JSON ----------

/// PHP `json_encode` of a value (objects get `objectType` last).
pub fn json(v: &Value) -> String {
    let mut s = String::new();
    json_into(&mut s, v);
    s
}

fn json_str(s: &mut String, text: &str) {
    s.push('"');
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '/' => s.push_str("\\/"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            '\u{8}' => s.push_str("\\b"),
            '\u{c}' => s.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(s, "\\u{unit:04x}");
                }
            }
            c => s.push(c),
        }
    }
    s.push('"');
}

fn json_float(f: f64) -> String {
    if !f.is_finite() {
        return "0".into();
    }
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{f:.1}");
    }
    format!("{f}")
}

fn json_into(s: &mut String, v: &Value) {
    match v {
        Value::Null => s.push_str("null"),
        Value::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(s, "{i}");
        }
        Value::Float(f) => s.push_str(&json_float(*f)),
        Value::Str(t) => json_str(s, t),
        Value::Array(items) => {
            s.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                json_into(s, it);
            }
            s.push(']');
        }
        Value::Object(o) => json_object(s, o),
        Value::Error(e) => json_error(s, e),
    }
}

fn json_object(s: &mut String, o: &Object) {
    s.push('{');
    for (k, v) in o.props.iter().filter(|(_, v)| *v != Value::Null) {
        json_str(s, k);
        s.push(':');
        json_into(s, v);
        s.push(',');
    }
    s.push_str("\"objectType\":");
    json_str(s, &o.class);
    s.push('}');
}

fn json_error(s: &mut String, e: &ApiError) {
    s.push_str("{\"code\":");
    json_str(s, &e.code);
    s.push_str(",\"message\":");
    json_str(s, &e.message);
    s.push_str(",\"objectType\":\"KalturaAPIException\",\"args\":");
    if e.args.is_empty() {
        s.push_str("[]");
    } else {
        s.push('{');
        for (i, (k, v)) in e.args.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            json_str(s, k);
            s.push(':');
            json_str(s, v);
        }
        s.push('}');
    }
    s.push('}');
}

// ---------- XML ----------

/// XML text escaping as the server does it.
pub fn xml_escape(s: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '"' => s.push_str("&quot;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '\'' => s.push_str("&apos;"),
            c => s.push(c),
        }
    }
}

/// C's `%.14G`.
pub fn g14(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    if !f.is_finite() {
        return "0".into();
    }
    let exp = f.abs().log10().floor() as i32;
    if !(-4..14).contains(&exp) {
        let s = format!("{:.13E}", f);
        // Rust: 1.2340000000000E5 -> C: 1.234E+05
        let (mant, e) = s.split_once('E').unwrap_or((&s, "0"));
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{mant}E{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (13 - exp).max(0) as usize;
    let s = format!("{:.*}", decimals, f);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

fn xml_value(s: &mut String, v: &Value, ignore_null: bool) {
    match v {
        Value::Null => {}
        Value::Bool(b) => s.push(if *b { '1' } else { '0' }),
        Value::Int(i) => {
            let _ = write!(s, "{i}");
        }
        Value::Float(f) => s.push_str(&g14(*f)),
        Value::Str(t) => xml_escape(s, t),
        Value::Array(items) => {
            for it in items {
                s.push_str("<item>");
                xml_value(s, it, ignore_null);
                s.push_str("</item>");
            }
        }
        Value::Object(o) => {
            s.push_str("<objectType>");
            xml_escape(s, &o.class);
            s.push_str("</objectType>");
            for (k, v) in &o.props {
                if ignore_null && *v == Value::Null {
                    continue;
                }
                let _ = write!(s, "<{k}>");
                xml_value(s, v, ignore_null);
                let _ = write!(s, "</{k}>");
            }
        }
        Value::Error(e) => {
            s.push_str("<error><objectType>KalturaAPIException</objectType><code>");
            xml_escape(s, &e.code);
            s.push_str("</code><message>");
            xml_escape(s, &e.message);
            s.push_str("</message><args>");
            for (k, v) in &e.args {
                s.push_str("<item><objectType>KalturaApiExceptionArg</objectType><name>");
                xml_escape(s, k);
                s.push_str("</name><value>");
                xml_escape(s, v);
                s.push_str("</value></item>");
            }
            s.push_str("</args></error>");
        }
    }
}

// ---------- PHP serialize ----------

/// PHP `serialize()` of a value (objects: only non-null properties).
pub fn php(v: &Value) -> String {
    let mut s = String::new();
    php_into(&mut s, v);
    s
}

fn php_str(s: &mut String, t: &str) {
    let _ = write!(s, "s:{}:\"{t}\";", t.len());
}

fn php_into(s: &mut String, v: &Value) {
    match v {
        Value::Null => s.push_str("N;"),
        Value::Bool(b) => s.push_str(if *b { "b:1;" } else { "b:0;" }),
        Value::Int(i) => {
            let _ = write!(s, "i:{i};");
        }
        Value::Float(f) => {
            let _ = write!(s, "d:{f};");
        }
        Value::Str(t) => php_str(s, t),
        Value::Array(items) => {
            let _ = write!(s, "a:{}:{{", items.len());
            for (i, it) in items.iter().enumerate() {
                let _ = write!(s, "i:{i};");
                php_into(s, it);
            }
            s.push('}');
        }
        Value::Object(o) => {
            let props: Vec<_> = o.props.iter().filter(|(_, v)| *v != Value::Null).collect();
            let _ = write!(s, "O:{}:\"{}\":{}:{{", o.class.len(), o.class, props.len());
            for (k, v) in props {
                php_str(s, k);
                php_into(s, v);
            }
            s.push('}');
        }
        Value::Error(e) => {
            s.push_str("a:4:{");
            php_str(s, "code");
            php_str(s, &e.code);
            php_str(s, "message");
            php_str(s, &e.message);
            php_str(s, "objectType");
            php_str(s, "KalturaAPIException");
            php_str(s, "args");
            let _ = write!(s, "a:{}:{{", e.args.len());
            for (k, v) in &e.args {
                php_str(s, k);
                php_str(s, v);
            }
            s.push_str("}}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g14_like_c() {
        assert_eq!(g14(0.0123), "0.0123");
        assert_eq!(g14(1700000000.0), "1700000000");
        assert_eq!(g14(0.002338171005249), "0.002338171005249");
        assert_eq!(g14(1.0 / 3.0), "0.33333333333333");
        assert_eq!(g14(1e20), "1E+20");
        assert_eq!(g14(0.00001), "1E-05");
    }

    #[test]
    fn json_escapes_like_php() {
        assert_eq!(json(&Value::Str("a/b\u{e9}\"".into())), r#""a\/b\u00e9\"""#);
        assert_eq!(json(&Value::Str("\u{1F600}".into())), r#""\ud83d\ude00""#);
    }
}
