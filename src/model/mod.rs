//! The ground floor: the vocabulary every layer shares and nothing below it. Upload
//! records and their small value types, ids, the clock, listing filters, media entries
//! categories and captions, URL import jobs,
//! and the request-body abstraction the core reads and the HTTP layer feeds.
//!
//! Must not: import any other module of this crate, do I/O, or know a wire protocol.
//! Everything above (`state`, `blob`, `ratelimit`, `core`, `server`, `client`, `api`)
//! may import it; `tests/architecture.rs` keeps it that way.

pub mod body;
pub mod caption;
pub mod category;
pub mod clock;
pub mod entry;
pub mod filter;
pub mod hook;
pub mod id;
pub mod import;
pub mod record;

pub use clock::now_secs;
pub use filter::ListFilter;
pub use id::{is_valid_id, new_id};
pub use record::{
    core_attr, ConcatRole, MediaInfo, Owner, OwnerCheck, Phase, StagedRange, Status, UploadRecord,
};
