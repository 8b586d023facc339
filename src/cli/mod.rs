//! Client-side commands of the `upgate` binary (the server lives in `app`).

pub mod push;
pub mod token;
