//! `parallel`: N large uploads in flight at once over one link (unlimited by default:
//! then it measures the gateway, like ../shared/bench's `parallel`).

use clap::Args;

use crate::common::{size, Common};
use crate::engine::{Plan, UploadSpec};

#[derive(Debug, Clone, Args)]
pub struct ParallelArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, default_value_t = 16)]
    pub uploads: usize,
    #[arg(long, default_value = "64MiB", value_parser = size)]
    pub size: u64,
    /// Chunks in flight per upload.
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
}

pub fn plan(a: &ParallelArgs) -> Plan {
    let c = &a.common;
    let waves = vec![UploadSpec::same(a.uploads, a.size)];
    Plan {
        parallel: a.parallel,
        ..c.plan("parallel", waves, c.model(Vec::new()))
    }
}
