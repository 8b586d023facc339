//! `parallel`: N large uploads in flight at once over one link (unlimited by default:
//! then it measures the gateway, like ../shared/bench's `parallel`).

use clap::Args;

use crate::common::{size, Common};
use crate::engine::{ClientKind, Plan, UploadSpec};

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
    Plan {
        scenario: "parallel".into(),
        protocol: c.protocol,
        client: ClientKind::Resumable,
        clock: c.clock,
        chunk_size: c.chunk_size,
        parallel: a.parallel,
        waves: vec![(0..a.uploads)
            .map(|_| UploadSpec {
                size: a.size,
                model: None,
            })
            .collect()],
        gap_secs: 0.0,
        model: c.model(Vec::new()),
        url: c.url.clone(),
        partner: c.partner(),
        max_seconds: c.max_seconds,
    }
}
