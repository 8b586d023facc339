//! Client-side commands of the `upgate` binary (the server lives in `app`).

pub mod import;
pub mod push;
pub mod token;

/// Progress bars on stderr (hidden with `--json`), in the style `template` gives.
pub(crate) fn bars(
    json: bool,
    template: &str,
) -> (indicatif::MultiProgress, indicatif::ProgressStyle) {
    use indicatif::{MultiProgress, ProgressDrawTarget, ProgressStyle};
    let multi = MultiProgress::with_draw_target(if json {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    (multi, style)
}

/// A byte count for people (`1.5 GiB`).
pub(crate) fn human(bytes: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", units[i])
}

/// `s` in at most `max` characters (the start replaced by `…`).
pub(crate) fn shorten(s: &str, max: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= max {
        s.to_owned()
    } else {
        format!(
            "…{}",
            chars[chars.len() + 1 - max..].iter().collect::<String>()
        )
    }
}
