//! What the local driver reports as it goes, to whoever observes it (the CLI's renderers).

use std::time::Duration;

use crate::error::Error;
use crate::health::Verdict;
use crate::notification::{EventType, Notification};
use crate::rollout::Rollout;

/// What the driver reports as it goes, for a progress display or a JSON event stream.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A lifecycle event (also published to SNS when the request names a topic).
    Lifecycle(&'a Notification),
    /// A bake is under way; `remaining` until the next step.
    Baking {
        rollout: &'a Rollout,
        remaining: Duration,
        total: Duration,
    },
    Checked {
        rollout: &'a Rollout,
        verdict: &'a Verdict,
    },
    /// A notification could not be published. The rollout goes on.
    NotifyFailed { event: EventType, error: &'a Error },
    /// An operator's `promote` was acted on (and the alarm check after it was healthy): the remaining steps
    /// and bakes are skipped.
    PromoteRequested { rollout: &'a Rollout },
    /// An operator's `pause` was acted on: the weight holds until `resume`, `promote` or `abort`, and the
    /// rollout rolls back once `max` is over.
    Paused { rollout: &'a Rollout, max: Duration },
    /// An operator's `resume` was acted on: on to the next step.
    Resumed { rollout: &'a Rollout },
}

pub trait Observer: Send {
    fn observe(&mut self, progress: Progress<'_>);
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {
    fn observe(&mut self, _: Progress<'_>) {}
}
