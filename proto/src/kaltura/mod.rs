//! Kaltura API v3 wire formats (sans-IO): sessions ([`ks`]), the answer value model
//! ([`value`]), response serializers ([`format`]), request parameters ([`params`]) and
//! the API error catalogue ([`errors`]).

pub mod errors;
pub mod format;
pub mod ks;
pub mod params;
pub mod value;
