//! `resume-storm`: many clients, each on its own link that drops repeatedly (its own
//! reproducible random schedule), all resuming from the server's offset.

use clap::Args;

use crate::common::{size, Common};
use crate::engine::{Plan, UploadSpec};
use crate::link::Model;

#[derive(Debug, Clone, Args)]
pub struct ResumeStormArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, default_value_t = 20)]
    pub clients: usize,
    #[arg(long, default_value = "20MB", value_parser = size)]
    pub size: u64,
    /// Drops per client.
    #[arg(long, default_value_t = 5)]
    pub drops: usize,
    #[arg(long, default_value_t = 2.0)]
    pub drop_secs: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn plan(a: &ResumeStormArgs) -> Plan {
    let c = &a.common;
    let uploads = (0..a.clients.min(1000))
        .map(|i| UploadSpec {
            size: a.size,
            model: Some(c.model(Model::random_drops(
                a.size,
                c.rate(),
                a.drops,
                a.drop_secs,
                a.seed + i as u64,
            ))),
        })
        .collect();
    c.plan("resume-storm", vec![uploads], c.model(Vec::new()))
}
