//! `bandwidth`: uploads through a modeled link with scheduled drops; reports the time
//! against the physical floor, the bytes sent twice, and whether the stored files are
//! byte-identical. `--client naive` restarts from zero after every failure, for contrast.

use clap::Args;

use crate::common::{size, Common};
use crate::engine::{ClientKind, Plan, UploadSpec};
use crate::link::Model;

#[derive(Debug, Clone, Args)]
pub struct BandwidthArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, value_enum, default_value = "resumable")]
    pub client: ClientKind,
    /// Size of each upload.
    #[arg(long, default_value = "250MB", value_parser = size)]
    pub size: u64,
    /// Uploads sharing the link at once.
    #[arg(long, default_value_t = 1)]
    pub uploads: usize,
    /// Outages, spread evenly over the transfer (or randomly with --drop-seed).
    #[arg(long, default_value_t = 3)]
    pub drops: usize,
    #[arg(long, default_value_t = 5.0)]
    pub drop_secs: f64,
    #[arg(long)]
    pub drop_seed: Option<u64>,
    /// Chunks in flight per upload (1: sequential PATCH / positional appends).
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
}

pub fn plan(a: &BandwidthArgs) -> Plan {
    let c = &a.common;
    let total = a.size * a.uploads as u64;
    let drops = match a.drop_seed {
        Some(seed) => Model::random_drops(total, c.rate(), a.drops, a.drop_secs, seed),
        None => Model::even_drops(total, c.rate(), a.drops, a.drop_secs),
    };
    let waves = vec![UploadSpec::same(a.uploads, a.size)];
    Plan {
        client: a.client,
        parallel: a.parallel,
        ..c.plan("bandwidth", waves, c.model(drops))
    }
}
