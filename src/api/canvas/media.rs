//! Canvas's Media Objects and media tracks (seed 003) on upgate's entries and captions:
//! a media object is a Kaltura entry of the token's user (`<user>_<root account>`), a
//! media attachment the same object (its id is the entry id), a course's or group's
//! media objects the entries published to the gallery of that context (a category whose
//! reference id is the context code), and a media track one caption of the entry —
//! the same record `caption_captionAsset` serves.
//!
//! Rules as Canvas applies them: `kind` ∈ subtitles, captions, descriptions, chapters,
//! metadata; `locale` of letters and `-`; one track per locale; content required; TTML
//! refused; SRT converted to WebVTT; titles cut at 255 characters.

use http::request::Parts;
use http::{HeaderValue, StatusCode};
use upgate_proto::captions::{check, sniff, to_webvtt, CaptionFormat};

use super::{CanvasApi, CanvasError};
use crate::api::json::json;
use crate::auth::tokens::TokenRecord;
use crate::core::Error;
use crate::model::caption::{language_of, valid_locale, Caption, KINDS, MAX_CONTENT};
use crate::model::category::{ids_text, Category};
use crate::model::clock::rfc3339;
use crate::model::entry::{Access, MediaEntry, Role, Verdict};
use crate::server::{full, Resp};

/// Longest title Canvas keeps.
const MAX_TITLE: usize = 255;

/// The query's values of `name` (and `name[]`).
fn query_values(head: &Parts, name: &str) -> Vec<String> {
    let bracket = format!("{name}[]");
    head.uri
        .query()
        .map(upgate_proto::form::parse_query)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| *k == name || *k == bracket)
        .map(|(_, v)| v)
        .collect()
}

fn query_one(head: &Parts, name: &str) -> Option<String> {
    query_values(head, name).into_iter().next()
}

impl CanvasApi {
    /// The Kaltura user behind an API token (`<user>_<root account>`).
    pub fn kaltura_user(&self, t: &TokenRecord) -> String {
        format!("{}_{}", t.user, self.root_account)
    }

    /// An entry the token's user may `access`; anything it cannot see is "not found".
    async fn entry_for(
        &self,
        t: &TokenRecord,
        id: &str,
        access: Access,
    ) -> Result<MediaEntry, CanvasError> {
        let e = self
            .gate
            .service
            .get_entry(id)
            .await?
            .filter(|e| e.partner == t.partner)
            .ok_or(CanvasError::NotFound("media object not found"))?;
        if t.admin {
            return Ok(e);
        }
        match e.verdict(&self.kaltura_user(t), access, |_| false) {
            Verdict::Allowed => Ok(e),
            Verdict::Refused => Err(CanvasError::Forbidden("not allowed for this media object")),
            Verdict::Hidden => Err(CanvasError::NotFound("media object not found")),
        }
    }

    /// The gallery of a context (`course_17`), made on first use.
    async fn context_category(&self, partner: i64, context: &str) -> Result<Category, CanvasError> {
        let svc = &self.gate.service;
        if let Some(c) = svc
            .list_categories(partner)
            .await?
            .into_iter()
            .find(|c| c.reference_id.as_deref() == Some(context))
        {
            return Ok(c);
        }
        let c = Category {
            id: 0,
            partner,
            parent_id: 0,
            name: context.to_owned(),
            full_name: String::new(),
            full_ids: String::new(),
            depth: 0,
            description: String::new(),
            tags: String::new(),
            reference_id: Some(context.to_owned()),
            privacy_context: None,
            created_at: 0,
            updated_at: 0,
        };
        Ok(svc.create_category(c, None).await?)
    }

    /// The entry's media tracks: its captions that have content.
    async fn tracks_of(&self, entry_id: &str) -> Result<Vec<Caption>, CanvasError> {
        let mut caps = self.gate.service.list_captions(entry_id).await?;
        caps.retain(|c| c.content.is_some());
        Ok(caps)
    }

    /// A media object as Canvas writes it.
    async fn object_json(
        &self,
        head: &Parts,
        t: &TokenRecord,
        e: &MediaEntry,
        exclude: &[String],
    ) -> Result<serde_json::Value, CanvasError> {
        let (proto, host) = crate::api::origin_of(&head.headers);
        let base = format!("{proto}://{host}");
        let user = self.kaltura_user(t);
        let can_edit = t.admin || e.verdict(&user, Access::Edit, |_| false) == Verdict::Allowed;
        let title = e
            .user_entered_title
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                if e.name.is_empty() {
                    e.file_name.clone().unwrap_or_else(|| "Untitled".into())
                } else {
                    e.name.clone()
                }
            });
        let mut v = serde_json::json!({
            "can_add_captions": can_edit,
            "user_entered_title": e.user_entered_title,
            "title": title,
            "media_id": e.id,
            "media_type": if e.media_type == 5 { "audio" } else { "video" },
        });
        if !exclude.iter().any(|x| x == "tracks") {
            let tracks: Vec<serde_json::Value> = self
                .tracks_of(&e.id)
                .await?
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "kind": c.kind,
                        "created_at": rfc3339(c.created_at),
                        "updated_at": rfc3339(c.updated_at),
                        "url": format!("{base}/media_objects/{}/media_tracks/{}", e.id, c.track_id),
                        "id": c.track_id,
                        "locale": c.locale,
                    })
                })
                .collect();
            v["media_tracks"] = tracks.into();
        }
        if !exclude.iter().any(|x| x == "sources") {
            v["media_sources"] = self.sources(&base, t, e).await?.into();
        }
        Ok(v)
    }

    /// The original file as Canvas's `media_sources`: what its header says (size in KB,
    /// width, height, bitrate in kbit/s, container, type), and Kaltura's download URL
    /// with a day-long session that may download this entry only. Files upgate cannot
    /// read list with what is known (size, extension).
    async fn sources(
        &self,
        base: &str,
        t: &TokenRecord,
        e: &MediaEntry,
    ) -> Result<Vec<serde_json::Value>, CanvasError> {
        let (Some(upload), Some(size)) = (&e.upload_id, e.size) else {
            return Ok(Vec::new());
        };
        let info = self
            .gate
            .service
            .peek(upload)
            .await?
            .and_then(|r| r.media())
            .unwrap_or_default();
        let ext = if info.ext.is_empty() {
            e.file_name
                .as_deref()
                .and_then(|n| n.rsplit_once('.').map(|(_, x)| x.to_ascii_lowercase()))
                .filter(|x| x.len() <= 8 && x.bytes().all(|b| b.is_ascii_alphanumeric()))
                .unwrap_or_else(|| "mp4".into())
        } else {
            info.ext.clone()
        };
        let content_type = if info.content_type.is_empty() {
            content_type_of(&ext, e.media_type).to_owned()
        } else {
            info.content_type.clone()
        };
        let Some(partner) = self.gate.partners.get(t.partner) else {
            return Ok(Vec::new());
        };
        let fields = upgate_proto::kaltura::ks::KsFields {
            partner_id: partner.id,
            expiry: crate::model::now_secs() as i64 + 86_400,
            session_type: 0,
            user: self.kaltura_user(t),
            privileges: format!("download:{}", e.id),
        };
        let ks = upgate_proto::form::form_encode(&crate::auth::mint(partner, &fields));
        let pid = partner.id;
        let opt = |n: u64| (n > 0).then(|| n.to_string());
        Ok(vec![serde_json::json!({
            "height": opt(u64::from(info.height)),
            "width": opt(u64::from(info.width)),
            "content_type": content_type,
            "containerFormat": (!info.container.is_empty()).then_some(info.container.clone()),
            "url": format!("{base}/p/{pid}/sp/{pid}00/download/entry_id/{}/flavor/{upload}/ks/{ks}/relocate/download.{ext}", e.id),
            "bitrate": opt(info.bitrate_kbps),
            "size": size.div_ceil(1024).to_string(),
            "isOriginal": "1",
            "fileExt": ext,
        })])
    }

    /// `POST /media_objects` (Canvas after its uploader's `addEntry`): attaches the
    /// entry to `context_code`'s gallery and records `user_entered_title`.
    pub async fn create_object(
        &self,
        head: &Parts,
        t: &TokenRecord,
        fields: &[(String, String)],
    ) -> Result<Resp, CanvasError> {
        let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let id = field("id").ok_or(CanvasError::BadRequest("missing id"))?;
        let e = self.entry_for(t, &id, Access::Edit).await?;
        let title = field("user_entered_title").or_else(|| field("title"));
        let context = field("context_code")
            .filter(|c| valid_context(c))
            .map(|c| c.to_owned());
        let category = match &context {
            Some(c) if c.starts_with("course_") || c.starts_with("group_") => {
                if !t.admin && e.role_of(&self.kaltura_user(t)) < Some(Role::Publisher) {
                    return Err(CanvasError::Forbidden(
                        "only the owner may publish to a course",
                    ));
                }
                Some(self.context_category(t.partner, c).await?)
            }
            _ => None,
        };
        let updated = self
            .gate
            .service
            .update_entry(&e.id, |e| {
                if let Some(t) = &title {
                    e.user_entered_title = Some(t.chars().take(MAX_TITLE).collect());
                }
                if let Some(c) = &category {
                    let mut ids = e.category_ids();
                    if !ids.contains(&c.id) {
                        ids.push(c.id);
                    }
                    e.categories_ids = Some(ids_text(&ids));
                }
                Ok(())
            })
            .await?;
        Ok(json(
            StatusCode::OK,
            &self.object_json(head, t, &updated, &[]).await?,
        ))
    }

    /// `GET /api/v1/media_objects` and its course, group and attachment forms.
    pub async fn list_objects(
        &self,
        head: &Parts,
        t: &TokenRecord,
        context: Option<&str>,
    ) -> Result<Resp, CanvasError> {
        let user = self.kaltura_user(t);
        let gallery = match context {
            Some(c) => self
                .gate
                .service
                .list_categories(t.partner)
                .await?
                .into_iter()
                .find(|cat| cat.reference_id.as_deref() == Some(c))
                .map(|cat| cat.id),
            None => None,
        };
        let mut objects: Vec<MediaEntry> = self
            .gate
            .service
            .list_entries(t.partner, None)
            .await?
            .into_iter()
            .filter(|e| match (context, gallery) {
                (None, _) => e.user == user,
                (Some(_), Some(g)) => e.category_ids().contains(&g),
                (Some(_), None) => false,
            })
            .collect();
        let sort = query_one(head, "sort").unwrap_or_else(|| "title".into());
        let desc = query_one(head, "order").is_some_and(|o| o == "desc");
        let title_of = |e: &MediaEntry| {
            e.user_entered_title
                .clone()
                .unwrap_or_else(|| e.name.clone())
                .to_lowercase()
        };
        match sort.as_str() {
            "created_at" => {
                objects.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)))
            }
            _ => objects.sort_by(|a, b| (title_of(a), &a.id).cmp(&(title_of(b), &b.id))),
        }
        if desc {
            objects.reverse();
        }
        let per_page = query_one(head, "per_page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(10)
            .clamp(1, 100);
        let pages = objects.len().div_ceil(per_page).max(1);
        let page = query_one(head, "page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, pages);
        let exclude = query_values(head, "exclude");
        let mut out = Vec::new();
        for e in objects.iter().skip((page - 1) * per_page).take(per_page) {
            out.push(self.object_json(head, t, e, &exclude).await?);
        }
        let mut r = json(StatusCode::OK, &serde_json::Value::Array(out));
        let (proto, host) = crate::api::origin_of(&head.headers);
        let link = |p: usize, rel: &str| {
            format!(
                "<{proto}://{host}{}?page={p}&per_page={per_page}>; rel=\"{rel}\"",
                head.uri.path()
            )
        };
        let mut links = vec![link(page, "current"), link(1, "first"), link(pages, "last")];
        if page < pages {
            links.push(link(page + 1, "next"));
        }
        if page > 1 {
            links.push(link(page - 1, "prev"));
        }
        if let Ok(v) = HeaderValue::from_str(&links.join(",")) {
            r.headers_mut().insert(http::header::LINK, v);
        }
        Ok(r)
    }

    /// `PUT /api/v1/media_objects/:id` (`user_entered_title`).
    pub async fn update_object(
        &self,
        head: &Parts,
        t: &TokenRecord,
        id: &str,
        fields: &[(String, String)],
    ) -> Result<Resp, CanvasError> {
        let e = self.entry_for(t, id, Access::Edit).await?;
        let title = fields
            .iter()
            .find(|(k, _)| k == "user_entered_title")
            .map(|(_, v)| v.chars().take(MAX_TITLE).collect::<String>());
        let updated = self
            .gate
            .service
            .update_entry(&e.id, |e| {
                if let Some(t) = &title {
                    e.user_entered_title = Some(t.clone());
                }
                Ok(())
            })
            .await?;
        Ok(json(
            StatusCode::OK,
            &self.object_json(head, t, &updated, &[]).await?,
        ))
    }

    fn track_json(&self, t: &TokenRecord, c: &Caption, include: &[String]) -> serde_json::Value {
        let has = |x: &str| include.iter().any(|i| i == x);
        let mut v = serde_json::json!({
            "id": c.track_id,
            "locale": c.locale,
            "kind": c.kind,
            "media_object_id": c.entry_id,
            "user_id": t.user,
        });
        let format = CaptionFormat::from_kaltura_type(&c.format).unwrap_or(CaptionFormat::Srt);
        if has("content") {
            v["content"] = c.content.clone().into();
        }
        if has("webvtt_content") {
            v["webvtt_content"] = c.content.as_deref().map(|x| to_webvtt(x, format)).into();
        }
        if has("created_at") {
            v["created_at"] = rfc3339(c.created_at).into();
        }
        if has("updated_at") {
            v["updated_at"] = rfc3339(c.updated_at).into();
        }
        v
    }

    /// `GET …/media_tracks`.
    pub async fn list_tracks(
        &self,
        head: &Parts,
        t: &TokenRecord,
        id: &str,
    ) -> Result<Resp, CanvasError> {
        let e = self.entry_for(t, id, Access::Read).await?;
        let include = query_values(head, "include");
        let tracks: Vec<serde_json::Value> = self
            .tracks_of(&e.id)
            .await?
            .iter()
            .map(|c| self.track_json(t, c, &include))
            .collect();
        Ok(json(StatusCode::OK, &tracks.into()))
    }

    /// A new track of `e` from Canvas's fields (content required, checked, stored).
    async fn new_track(
        &self,
        t: &TokenRecord,
        e: &MediaEntry,
        kind: &str,
        locale: &str,
        content: &str,
    ) -> Result<Caption, CanvasError> {
        let (text, format) = checked_track(kind, locale, content)?;
        let cap = Caption {
            id: String::new(),
            entry_id: e.id.clone(),
            partner: e.partner,
            user: self.kaltura_user(t),
            label: language_of(locale),
            language: language_of(locale),
            locale: locale.to_owned(),
            kind: kind.to_owned(),
            format: format.kaltura_type().into(),
            is_default: false,
            content: Some(text),
            track_id: 0,
            created_at: 0,
            updated_at: 0,
        };
        self.gate
            .service
            .create_caption(cap)
            .await
            .map_err(|e| match e {
                Error::TooLarge { .. } => {
                    CanvasError::BadRequest("too many tracks on this media object")
                }
                other => other.into(),
            })
    }

    /// `PUT …/media_tracks`: the body's tracks replace the set (not listed: deleted;
    /// listed without `content`: untouched; with `content`: created or updated).
    pub async fn replace_tracks(
        &self,
        head: &Parts,
        t: &TokenRecord,
        id: &str,
        body: &serde_json::Value,
    ) -> Result<Resp, CanvasError> {
        let e = self.entry_for(t, id, Access::Edit).await?;
        let wanted = body.as_array().ok_or(CanvasError::BadRequest(
            "the body must be a JSON array of tracks",
        ))?;
        if wanted.len() > crate::model::caption::MAX_PER_ENTRY {
            return Err(CanvasError::BadRequest("too many tracks"));
        }
        let mut seen: Vec<String> = Vec::new();
        for w in wanted {
            let locale = w["locale"]
                .as_str()
                .ok_or(CanvasError::BadRequest("every track needs a locale"))?;
            if !valid_locale(locale) {
                return Err(CanvasError::BadRequest("locale must be letters and '-'"));
            }
            if seen.iter().any(|s| s == locale) {
                return Err(CanvasError::BadRequest("one track per locale"));
            }
            seen.push(locale.to_owned());
            if let Some(content) = w["content"].as_str() {
                checked_track(w["kind"].as_str().unwrap_or("subtitles"), locale, content)?;
            }
        }
        let svc = &self.gate.service;
        let existing = svc.list_captions(&e.id).await?;
        for c in &existing {
            if !seen.contains(&c.locale) {
                svc.delete_caption(&c.id).await?;
            }
        }
        for w in wanted {
            let locale = w["locale"].as_str().unwrap_or_default();
            let kind = w["kind"].as_str().unwrap_or("subtitles");
            let Some(content) = w["content"].as_str() else {
                continue;
            };
            match existing.iter().find(|c| c.locale == locale) {
                Some(c) => {
                    let (text, format) = checked_track(kind, locale, content)?;
                    svc.update_caption(&c.id, |c| {
                        c.content = Some(text.clone());
                        c.format = format.kaltura_type().into();
                        c.kind = kind.to_owned();
                        Ok(())
                    })
                    .await?;
                }
                None => {
                    self.new_track(t, &e, kind, locale, content).await?;
                }
            }
        }
        self.list_tracks(head, t, &e.id).await
    }

    /// Legacy `POST /media_objects/:id/media_tracks` (`kind`, `locale`, `content`).
    pub async fn create_track(
        &self,
        t: &TokenRecord,
        id: &str,
        fields: &[(String, String)],
    ) -> Result<Resp, CanvasError> {
        let e = self.entry_for(t, id, Access::Edit).await?;
        let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let locale = field("locale").ok_or(CanvasError::BadRequest("missing locale"))?;
        let content = field("content").ok_or(CanvasError::BadRequest("missing content"))?;
        let kind = field("kind").unwrap_or("subtitles");
        if self
            .gate
            .service
            .list_captions(&e.id)
            .await?
            .iter()
            .any(|c| c.locale == locale)
        {
            return Err(CanvasError::BadRequest("one track per locale"));
        }
        let c = self.new_track(t, &e, kind, locale, content).await?;
        Ok(json(
            StatusCode::OK,
            &self.track_json(t, &c, &["content".into()]),
        ))
    }

    async fn track_of(
        &self,
        t: &TokenRecord,
        id: &str,
        track: &str,
        access: Access,
    ) -> Result<Caption, CanvasError> {
        let e = self.entry_for(t, id, access).await?;
        self.tracks_of(&e.id)
            .await?
            .into_iter()
            .find(|c| c.track_id.to_string() == track)
            .ok_or(CanvasError::NotFound("media track not found"))
    }

    /// `GET /media_objects/:id/media_tracks/:track_id`: the track as WebVTT, for players.
    pub async fn get_track(
        &self,
        t: &TokenRecord,
        id: &str,
        track: &str,
    ) -> Result<Resp, CanvasError> {
        let c = self.track_of(t, id, track, Access::Read).await?;
        let format = CaptionFormat::from_kaltura_type(&c.format).unwrap_or(CaptionFormat::Srt);
        let mut r =
            hyper::Response::new(full(to_webvtt(c.content.as_deref().unwrap_or(""), format)));
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/vtt; charset=utf-8"),
        );
        Ok(r)
    }

    /// `DELETE /media_objects/:id/media_tracks/:track_id`.
    pub async fn delete_track(
        &self,
        t: &TokenRecord,
        id: &str,
        track: &str,
    ) -> Result<Resp, CanvasError> {
        let c = self.track_of(t, id, track, Access::Edit).await?;
        self.gate.service.delete_caption(&c.id).await?;
        Ok(json(StatusCode::OK, &self.track_json(t, &c, &[])))
    }
}

/// A context code upgate keeps (`course_17`, `group_3`, `user_5`).
fn valid_context(c: &str) -> bool {
    c.len() <= 64
        && c.split_once('_').is_some_and(|(kind, id)| {
            matches!(kind, "course" | "group" | "user")
                && !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
        })
}

/// Canvas's rules for a track's fields and content.
fn checked_track(
    kind: &str,
    locale: &str,
    content: &str,
) -> Result<(String, CaptionFormat), CanvasError> {
    if !KINDS.contains(&kind) {
        return Err(CanvasError::BadRequest(
            "kind must be subtitles, captions, descriptions, chapters or metadata",
        ));
    }
    if !valid_locale(locale) {
        return Err(CanvasError::BadRequest("locale must be letters and '-'"));
    }
    if content.trim().is_empty() {
        return Err(CanvasError::BadRequest("content is required"));
    }
    if content.len() > MAX_CONTENT {
        return Err(CanvasError::BadRequest("content is larger than 1 MiB"));
    }
    let format = sniff(content)
        .map_err(|_| CanvasError::BadRequest("TTML is not supported; send SRT or WebVTT"))?;
    check(content, format)
        .map_err(|_| CanvasError::BadRequest("content is not valid SRT or WebVTT"))?;
    Ok((content.to_owned(), format))
}

/// A media file's content type from its extension.
fn content_type_of(ext: &str, media_type: i32) -> &'static str {
    match ext {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "wav" => "audio/wav",
        _ if media_type == 5 => "audio/mpeg",
        _ => "video/mp4",
    }
}
