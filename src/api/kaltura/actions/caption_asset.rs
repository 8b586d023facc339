//! `caption_captionAsset` (Kaltura's caption plugin): `add`, `setContent`, `get`,
//! `list`, `serve`, `delete`. Captions are SRT or WebVTT (TTML/DFXP refused), checked
//! when their content is set, at most 1 MiB and 50 per entry. Whoever may edit the
//! entry (owner, co-editors, co-publishers, `edit` privilege) manages its captions;
//! whoever may read it reads them. A caption of an entry the session cannot see is
//! `CAPTION_ASSET_ID_NOT_FOUND`, like a missing one.

use std::collections::HashMap;

use upgate_proto::captions::{check, sniff, CaptionFormat};
use upgate_proto::kaltura::errors::ErrorCode;
use upgate_proto::kaltura::params::{to_bool, Params};
use upgate_proto::kaltura::value::Value;

use super::media_common::{owned_entry, Access};
use crate::api::kaltura::call::{page, Call};
use crate::api::kaltura::error::{err1, from_core, invalid_enum, missing, KResult};
use crate::api::kaltura::objects::{caption_asset, list};
use crate::core::Error;
use crate::model::caption::{locale_of, Caption, MAX_CONTENT, MAX_PER_ENTRY};
use upgate_proto::kaltura::errors::api_error;
use upgate_proto::kaltura::ks::Ks;

/// A caption the session may touch as `access` says.
async fn visible(c: &Call<'_>, ks: &Ks, id: &str, access: Access) -> KResult<Caption> {
    let not_found = || err1(ErrorCode::CaptionAssetIdNotFound, id);
    let cap = c
        .api
        .service
        .get_caption(id)
        .await
        .map_err(from_core)?
        .filter(|cap| cap.partner == ks.partner_id)
        .ok_or_else(not_found)?;
    match owned_entry(c, ks, &cap.entry_id, access).await {
        Ok(_) => Ok(cap),
        Err(e) if e.is(ErrorCode::EntryIdNotFound) => Err(not_found()),
        Err(e) => Err(e),
    }
}

/// Checks a caption text: size, UTF-8, format (by its content), cues.
pub fn checked(bytes: Vec<u8>) -> KResult<(String, CaptionFormat)> {
    let invalid = |why: &str| err1(ErrorCode::CaptionContentInvalid, why);
    if bytes.len() > MAX_CONTENT {
        return Err(err1(
            ErrorCode::CaptionContentTooLarge,
            &MAX_CONTENT.to_string(),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8 text"))?;
    let format = sniff(&text).map_err(|e| invalid(&e.why))?;
    check(&text, format).map_err(|e| invalid(&e.why))?;
    Ok((text, format))
}

/// `add(entryId, captionAsset)`: a caption without content yet (status QUEUED).
pub async fn add(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let entry_id = c.required("entryId")?.to_owned();
    let empty = Params::new();
    let p = c.obj("captionAsset").unwrap_or(&empty).clone();
    let e = owned_entry(c, &ks, &entry_id, Access::Edit).await?;
    let language = p.str("language").unwrap_or("English").to_owned();
    let locale = locale_of(&language)
        .ok_or_else(|| invalid_enum(&language, "language", "KalturaLanguage"))?;
    let format = match p.str("format") {
        None => CaptionFormat::Srt,
        Some(f) => CaptionFormat::from_kaltura_type(f).ok_or_else(|| {
            err1(
                ErrorCode::CaptionContentInvalid,
                &format!("format {f} is not supported (SRT \"1\" and WebVTT \"3\" are)"),
            )
        })?,
    };
    let label = p.str("label").unwrap_or(&language).to_owned();
    if label.chars().count() > 256 {
        return Err(api_error(
            ErrorCode::PropertyValidationMaxLength,
            &["label", "256"],
        ));
    }
    let cap = Caption {
        id: String::new(),
        entry_id: e.id.clone(),
        partner: e.partner,
        user: ks.user.clone(),
        label,
        language: crate::model::caption::language_of(&locale),
        locale,
        kind: "subtitles".into(),
        format: format.kaltura_type().into(),
        is_default: p.str("isDefault").is_some_and(to_bool),
        content: None,
        track_id: 0,
        created_at: 0,
        updated_at: 0,
    };
    match c.api.service.create_caption(cap).await {
        Ok(made) => Ok(caption_asset(&made)),
        Err(Error::TooLarge { .. }) => Err(err1(
            ErrorCode::CaptionAssetsLimit,
            &MAX_PER_ENTRY.to_string(),
        )),
        Err(e) => Err(from_core(e)),
    }
}

/// `setContent(id, contentResource)`: the text from a `KalturaStringResource`
/// (`content`) or a finished upload token (`KalturaUploadedFileTokenResource`).
pub async fn set_content(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let id = c.required("id")?.to_owned();
    let res = c
        .obj("contentResource")
        .ok_or_else(|| missing("contentResource"))?
        .clone();
    visible(c, &ks, &id, Access::Edit).await?;
    let bytes = match res.str("objectType").unwrap_or("") {
        "KalturaStringResource" => res
            .str("content")
            .ok_or_else(|| missing("contentResource:content"))?
            .as_bytes()
            .to_vec(),
        "KalturaUploadedFileTokenResource" => {
            let token = res
                .str("token")
                .ok_or_else(|| missing("contentResource:token"))?;
            let rec = c.visible_token(&ks, token).await?;
            if rec.offset > MAX_CONTENT as u64 {
                return Err(err1(
                    ErrorCode::CaptionContentTooLarge,
                    &MAX_CONTENT.to_string(),
                ));
            }
            let mut dl = c
                .api
                .service
                .read(&rec.id, 0, rec.offset)
                .await
                .map_err(from_core)?;
            let mut out = Vec::with_capacity(rec.offset as usize);
            while let Some(chunk) = dl.stream.recv().await {
                out.extend_from_slice(&chunk.map_err(|e| from_core(e.into()))?);
            }
            out
        }
        other => {
            return Err(api_error(
                ErrorCode::ResourceTypeNotSupported,
                &[if other.is_empty() {
                    "KalturaContentResource"
                } else {
                    other
                }],
            ))
        }
    };
    let (text, format) = checked(bytes)?;
    let cap = c
        .api
        .service
        .update_caption(&id, |cap| {
            cap.content = Some(text.clone());
            cap.format = format.kaltura_type().into();
            Ok(())
        })
        .await
        .map_err(|e| match e {
            Error::NotFound => err1(ErrorCode::CaptionAssetIdNotFound, &id),
            other => from_core(other),
        })?;
    Ok(caption_asset(&cap))
}

/// `get(captionAssetId)`.
pub async fn get(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.session().await?;
    let id = c.required("captionAssetId")?.to_owned();
    Ok(caption_asset(&visible(c, &ks, &id, Access::Read).await?))
}

/// `delete(captionAssetId)`.
pub async fn delete(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.writer_session().await?;
    let id = c.required("captionAssetId")?.to_owned();
    visible(c, &ks, &id, Access::Edit).await?;
    c.api.service.delete_caption(&id).await.map_err(from_core)?;
    Ok(Value::Null)
}

/// `serve(captionAssetId)`: the caption file itself (its own content type, not an
/// envelope).
pub async fn serve(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.session().await?;
    let id = c.required("captionAssetId")?.to_owned();
    let cap = visible(c, &ks, &id, Access::Read).await?;
    let format = CaptionFormat::from_kaltura_type(&cap.format).unwrap_or(CaptionFormat::Srt);
    let text = cap
        .content
        .ok_or_else(|| err1(ErrorCode::CaptionAssetIdNotFound, &id))?;
    c.served = Some((format.content_type(), text));
    Ok(Value::Null)
}

/// `list(filter, pager)`: `entryIdEqual`, `entryIdIn`, `languageEqual`, `formatEqual`,
/// of entries the session may read.
pub async fn list_action(c: &mut Call<'_>) -> KResult<Value> {
    let ks = c.session().await?;
    let empty = Params::new();
    let f = c.obj("filter").unwrap_or(&empty).clone();
    let entries: Vec<String> = match (f.str("entryIdEqual"), f.str("entryIdIn")) {
        (Some(e), _) => vec![e.to_owned()],
        (None, Some(l)) => l.split(',').map(|x| x.trim().to_owned()).collect(),
        (None, None) => return Err(missing("filter:entryIdEqual")),
    };
    let mut readable: HashMap<String, bool> = HashMap::new();
    let mut rows = Vec::new();
    for entry_id in entries.iter().take(500) {
        let ok = match readable.get(entry_id) {
            Some(ok) => *ok,
            None => {
                let ok = owned_entry(c, &ks, entry_id, Access::Read).await.is_ok();
                readable.insert(entry_id.clone(), ok);
                ok
            }
        };
        if !ok {
            continue;
        }
        for cap in c
            .api
            .service
            .list_captions(entry_id)
            .await
            .map_err(from_core)?
        {
            let lang_ok = f.str("languageEqual").is_none_or(|l| l == cap.language);
            let format_ok = f.str("formatEqual").is_none_or(|x| x == cap.format);
            if lang_ok && format_ok {
                rows.push(caption_asset(&cap));
            }
        }
    }
    let (page, total) = page(rows, c.obj("pager"));
    Ok(list("KalturaCaptionAssetListResponse", page, total))
}
