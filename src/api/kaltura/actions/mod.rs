//! One file per API v3 action. Each `run` takes the call, checks the session it needs,
//! and answers a value or a Kaltura error.

pub mod caption_asset;
pub mod category_add;
pub mod category_entry;
pub mod category_get;
pub mod category_list;
pub mod media_add;
pub mod media_add_content;
pub mod media_add_from_uploaded_file;
pub mod media_add_from_url;
pub mod media_common;
pub mod media_delete;
pub mod media_get;
pub mod media_import;
pub mod media_list;
pub mod media_update;
pub mod session_end;
pub mod session_get;
pub mod session_start;
pub mod token_add;
pub mod token_delete;
pub mod token_get;
pub mod token_list;
pub mod token_upload;
