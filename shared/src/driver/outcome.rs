use crate::domain::Routing;
use crate::error::Error;
use crate::registry::RolloutStatus;
use crate::rollout::Rollout;

/// How a rollout ended.
#[derive(Debug)]
pub enum Outcome {
    /// The alias serves the target version alone.
    Promoted { rollout: Rollout },
    /// An alarm or a hook said no; the alias serves the old version alone.
    RolledBack { rollout: Rollout, reason: String },
    /// An error stopped the rollout after it began. `alias_restored` says whether the rollback succeeded.
    Failed {
        rollout: Rollout,
        error: Error,
        alias_restored: bool,
    },
    /// The rollout stopped (`reason`), and the alias held a routing it had not set: someone else changed it,
    /// so it was left as it is (`found`). Nothing failed; the alias is not shifter's to restore.
    LeftAlone {
        rollout: Rollout,
        reason: String,
        found: Routing,
    },
    /// The request was refused before anything changed.
    Rejected { error: Error },
}

impl Outcome {
    /// 0 promoted; 1 rolled back or failed; 2 invalid request (nothing changed); 3 conflict (another rollout
    /// owns the alias, or it changed under us).
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Promoted { .. } => 0,
            Outcome::RolledBack { .. } => 1,
            Outcome::LeftAlone { .. } => 3,
            Outcome::Failed { error, .. } | Outcome::Rejected { error } if error.is_conflict() => 3,
            Outcome::Rejected { error } if error.is_invalid_input() => 2,
            Outcome::Failed { .. } | Outcome::Rejected { .. } => 1,
        }
    }

    /// How an outcome is recorded in the registry: the rollout, its status and why. None for a request refused
    /// before the lease was taken.
    pub fn registry_end(&self) -> Option<(&Rollout, RolloutStatus, Option<String>)> {
        match self {
            Outcome::Promoted { rollout } => Some((rollout, RolloutStatus::Promoted, None)),
            Outcome::RolledBack { rollout, reason } => {
                Some((rollout, RolloutStatus::RolledBack, Some(reason.clone())))
            }
            Outcome::LeftAlone {
                rollout, reason, ..
            } => Some((rollout, RolloutStatus::LeftAlone, Some(reason.clone()))),
            Outcome::Failed {
                rollout,
                alias_restored,
                error,
            } => Some((
                rollout,
                if *alias_restored {
                    RolloutStatus::Failed
                } else {
                    RolloutStatus::RollbackFailed
                },
                Some(error.to_string()),
            )),
            Outcome::Rejected { .. } => None,
        }
    }

    pub fn rollout(&self) -> Option<&Rollout> {
        match self {
            Outcome::Promoted { rollout }
            | Outcome::RolledBack { rollout, .. }
            | Outcome::Failed { rollout, .. }
            | Outcome::LeftAlone { rollout, .. } => Some(rollout),
            Outcome::Rejected { .. } => None,
        }
    }
}
