//! `getuiconf`: the uploader configuration k5uploader reads — one `<limits>` element
//! (sizes in MB) and the `<fileFilter>`s (ids `video`, `audio`, `image`), as the escaped
//! text of `confFile`.

use super::error::Ps2Error;
use super::{el, Call};

const FILTERS: [(&str, &str, &str, &str); 3] = [
    (
        "video",
        "Video files",
        "*.mp4;*.m4v;*.mov;*.avi;*.mkv;*.webm;*.wmv;*.flv;*.mpg;*.mpeg;*.3gp",
        "1",
    ),
    (
        "audio",
        "Audio files",
        "*.mp3;*.m4a;*.wav;*.aac;*.ogg;*.flac;*.wma",
        "5",
    ),
    (
        "image",
        "Image files",
        "*.jpg;*.jpeg;*.png;*.gif;*.bmp",
        "2",
    ),
];

pub async fn run(c: &Call<'_>) -> Result<String, Ps2Error> {
    let max_mb = c.api.service.config().max_upload_size / (1024 * 1024);
    let mut conf = format!("<uploader><limits maxUploads=\"50\" maxFileSize=\"{max_mb}\" maxTotalSize=\"{max_mb}\"/><fileFilters>");
    for (id, desc, ext, media) in FILTERS {
        conf.push_str(&format!(
            "<fileFilter id=\"{id}\" description=\"{desc}\" extensions=\"{ext}\" entryType=\"1\" mediaType=\"{media}\"/>"
        ));
    }
    conf.push_str("</fileFilters></uploader>");
    let id = c.str("ui_conf_id").unwrap_or("1");
    let partner = c.str("partner_id").or(c.str("partnerId")).unwrap_or("");
    Ok(format!(
        "<ui_conf>{}{}{}{}{}</ui_conf>",
        el("id", id),
        el("partnerId", partner),
        el("name", "upgate uploader"),
        el("objType", "1"),
        el("confFile", &conf)
    ))
}
