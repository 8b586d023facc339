//! `burst`: recordings arriving in bursts, as when a Zoom account's cloud recordings are
//! copied to the media platform at once: `--bursts` waves of `--per-burst` uploads,
//! mostly small with a share of large ones, `--gap-secs` apart.

use clap::Args;

use crate::common::{size, Common};
use crate::engine::{Plan, UploadSpec};

#[derive(Debug, Clone, Args)]
pub struct BurstArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, default_value_t = 3)]
    pub bursts: usize,
    #[arg(long, default_value_t = 20)]
    pub per_burst: usize,
    #[arg(long, default_value = "2MB", value_parser = size)]
    pub small: u64,
    #[arg(long, default_value = "40MB", value_parser = size)]
    pub large: u64,
    /// Every n-th upload is large.
    #[arg(long, default_value_t = 5)]
    pub large_every: usize,
    #[arg(long, default_value_t = 10.0)]
    pub gap_secs: f64,
}

pub fn plan(a: &BurstArgs) -> Plan {
    let c = &a.common;
    let every = a.large_every.max(1);
    let waves = (0..a.bursts.min(100))
        .map(|_| {
            (0..a.per_burst.min(1000))
                .map(|i| UploadSpec {
                    size: if i % every == every - 1 {
                        a.large
                    } else {
                        a.small
                    },
                    model: None,
                })
                .collect()
        })
        .collect();
    Plan {
        gap_secs: a.gap_secs,
        ..c.plan("burst", waves, c.model(Vec::new()))
    }
}
