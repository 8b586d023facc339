//! Routing a call to its action, and multi-request (spec §1.8): sub-requests by index,
//! top-level `ks`/`clientTag`/`partnerId` inherited, `{K:result:prop}` references
//! resolved against earlier results, an error in one slot not stopping the others.

use upgate_proto::kaltura::params::{Param, Params};
use upgate_proto::kaltura::value::Value;

use super::actions::*;
use super::call::Call;
use super::endpoint::{self, Action, Unknown};
use super::error::{err, KResult};
use upgate_proto::kaltura::errors::{api_error, ErrorCode};

/// Runs one (non-multi) call: parses its service and action into an [`Action`], then
/// applies it.
pub async fn run_one(c: &mut Call<'_>) -> KResult<Value> {
    let service = c.str("service").unwrap_or("").to_owned();
    let action = c.str("action").unwrap_or("").to_owned();
    let (act, s, a) = endpoint::action(&service, &action).map_err(|why| match why {
        Unknown::NoService => err(ErrorCode::ServiceNotSpecified),
        Unknown::NoAction => err(ErrorCode::ActionNotSpecified),
        Unknown::Service => api_error(ErrorCode::ServiceDoesNotExists, &[&service]),
        Unknown::Action => api_error(ErrorCode::ActionDoesNotExists, &[&action, &service]),
    })?;
    c.service = s;
    c.action = a;
    match act {
        Action::SessionStart => session_start::run(c).await,
        Action::SessionEnd => session_end::run(c).await,
        Action::SessionGet => session_get::run(c).await,
        Action::TokenAdd => token_add::run(c).await,
        Action::TokenGet => token_get::run(c).await,
        Action::TokenList => token_list::run(c).await,
        Action::TokenDelete => token_delete::run(c).await,
        Action::TokenUpload => token_upload::run(c).await,
        Action::MediaAdd => media_add::run(c).await,
        Action::MediaAddContent => media_add_content::run(c).await,
        Action::MediaAddFromUploadedFile => media_add_from_uploaded_file::run(c).await,
        Action::MediaAddFromUrl => media_add_from_url::run(c).await,
        Action::MediaGet => media_get::run(c).await,
        Action::MediaList => media_list::run(c).await,
        Action::MediaUpdate => media_update::run(c).await,
        Action::MediaDelete => media_delete::run(c).await,
        Action::CategoryAdd => category_add::run(c).await,
        Action::CategoryGet => category_get::run(c).await,
        Action::CategoryList => category_list::run(c).await,
        Action::CategoryEntryAdd => category_entry::add(c).await,
        Action::CategoryEntryDelete => category_entry::delete(c).await,
        Action::CategoryEntryList => category_entry::list_action(c).await,
        Action::CaptionAdd => caption_asset::add(c).await,
        Action::CaptionSetContent => caption_asset::set_content(c).await,
        Action::CaptionGet => caption_asset::get(c).await,
        Action::CaptionList => caption_asset::list_action(c).await,
        Action::CaptionServe => caption_asset::serve(c).await,
        Action::CaptionDelete => caption_asset::delete(c).await,
    }
}

/// The sub-requests of a multi-request, in index order, with their keys.
pub fn sub_requests(top: &Params) -> Vec<(String, Params)> {
    let mut subs: Vec<(i64, String, Params)> = top
        .0
        .iter()
        .filter_map(|(k, v)| match (k.parse::<i64>(), v) {
            (Ok(i), Param::Map(m)) => Some((i, k.clone(), m.clone())),
            _ => None,
        })
        .collect();
    subs.sort_by_key(|(i, _, _)| *i);
    let mut out = Vec::new();
    for (_, key, mut p) in subs {
        if p.str("service").is_none() || p.str("action").is_none() {
            break;
        }
        for inherit in ["ks", "clientTag", "partnerId"] {
            if p.get(inherit).is_none() {
                if let Some(v) = top.get(inherit) {
                    p.set(inherit, v.clone());
                }
            }
        }
        p.take("format");
        out.push((key, p));
    }
    out
}

/// Replaces `{K:result}` and `{K:result:prop:sub}` tokens inside every text value.
pub fn resolve_refs(p: &mut Params, results: &[Value]) {
    for (_, v) in p.0.iter_mut() {
        match v {
            Param::Str(s) if s.contains(":result") => *s = substitute(s, results),
            Param::Map(m) => resolve_refs(m, results),
            _ => {}
        }
    }
}

fn substitute(s: &str, results: &[Value]) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = &after[..close];
        let mut parts = inner.split(':');
        let index = parts.next().and_then(|k| k.parse::<usize>().ok());
        match (index, parts.next()) {
            (Some(k), Some("result")) => {
                let path: Vec<&str> = parts.collect();
                out.push_str(&lookup(results.get(k.wrapping_sub(1)), &path));
            }
            _ => {
                out.push('{');
                out.push_str(inner);
                out.push('}');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

fn lookup(v: Option<&Value>, path: &[&str]) -> String {
    let mut cur = v;
    for name in path {
        cur = match cur {
            Some(Value::Object(o)) => o.get(name),
            Some(Value::Array(items)) => name.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
    }
    match cur {
        Some(Value::Str(s)) => s.clone(),
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Float(f)) => f.to_string(),
        Some(Value::Bool(true)) => "1".into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upgate_proto::kaltura::value::Object;

    #[test]
    fn references() {
        let r = vec![Value::Object(
            Object::new("KalturaUploadToken")
                .with("id", "0_abc")
                .with("status", 0i64),
        )];
        assert_eq!(substitute("{1:result:id}", &r), "0_abc");
        assert_eq!(substitute("x{1:result:status}y", &r), "x0y");
        assert_eq!(substitute("{1:result:nope}", &r), "");
        assert_eq!(substitute("{2:result:id}", &r), "");
        assert_eq!(substitute("{not a ref}", &r), "{not a ref}");
        assert_eq!(substitute("{1:result", &r), "{1:result");
    }
}
