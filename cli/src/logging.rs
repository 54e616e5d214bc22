//! Logs go to stderr, filtered by `SHIFTER_LOG` (default `warn`). A deploy runs inside a `rollout` span, so
//! every line it logs carries the rollout id.

use std::io::IsTerminal;

use tracing::Span;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

pub const ENV: &str = "SHIFTER_LOG";
/// Warnings, but the AWS SDK's configuration loaders (aws_config, aws_runtime) only for errors: their warnings
/// (a config file named by AWS_CONFIG_FILE that does not exist, ...) are noise next to shifter's own message
/// about what is missing. `SHIFTER_LOG=warn` or `debug` shows them.
pub const DEFAULT_FILTER: &str = "warn,aws_config=error,aws_runtime=error";

/// Installs the global subscriber. A `SHIFTER_LOG` that does not parse falls back to the default.
pub fn init() {
    let filter = EnvFilter::try_from_env(ENV).unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let ansi = std::io::stderr().is_terminal();
    let _ = tracing::subscriber::set_global_default(subscriber(filter, std::io::stderr, ansi));
}

pub fn subscriber<W>(
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .with_target(false)
        .finish()
}

/// The span a rollout runs in. It is an ERROR-level span so that it stays enabled under any filter that
/// lets lines through at all (an INFO span would vanish under the default `warn`, and with it the id).
pub fn rollout_span(rollout_id: &str) -> Span {
    tracing::error_span!("rollout", rollout_id = %rollout_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Captured;

    fn logged(filter: &str) -> String {
        let buf = Captured::default();
        let b = buf.clone();
        let sub = subscriber(EnvFilter::new(filter), move || b.clone(), false);
        tracing::subscriber::with_default(sub, || {
            let _g = rollout_span("r-test-1").entered();
            tracing::warn!("rolling back");
            tracing::info!("prepared");
        });
        buf.text()
    }

    #[test]
    fn the_default_filter_keeps_warnings_with_the_rollout_id() {
        let text = logged(DEFAULT_FILTER);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(lines[0].contains("rollout{rollout_id=r-test-1}"), "{text}");
        assert!(lines[0].contains("rolling back"));
    }

    #[test]
    fn info_lines_carry_the_rollout_id_too() {
        let text = logged("info");
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.lines().all(|l| l.contains("rollout_id=r-test-1")));
    }
}
