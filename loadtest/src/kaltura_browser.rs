//! `kaltura-browser`: the Kaltura TypeScript browser client's pattern — chunk 0 alone,
//! then up to 6 positional (`resumeAt`) chunks in parallel with the final one sent
//! alongside (often first: the gateway holds it until the bytes before it arrive).

use clap::Args;
use upgate::client::Protocol;

use crate::common::{size, Common};
use crate::engine::{Plan, UploadSpec};
use crate::link::Model;

#[derive(Debug, Clone, Args)]
pub struct KalturaBrowserArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, default_value = "100MB", value_parser = size)]
    pub size: u64,
    #[arg(long, default_value_t = 6)]
    pub parallel: usize,
    #[arg(long, default_value_t = 0)]
    pub drops: usize,
    #[arg(long, default_value_t = 5.0)]
    pub drop_secs: f64,
}

pub fn plan(a: &KalturaBrowserArgs) -> Plan {
    let c = &a.common;
    let model = c.model(Model::even_drops(a.size, c.rate(), a.drops, a.drop_secs));
    let waves = vec![UploadSpec::same(1, a.size)];
    Plan {
        protocol: Protocol::Kaltura,
        parallel: a.parallel,
        ..c.plan("kaltura-browser", waves, model)
    }
}
