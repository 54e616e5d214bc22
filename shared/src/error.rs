//! The one error type of shifter. Its `error_type` names are a contract: the state machine's Retry and Catch
//! blocks name them, and a contract test checks that every name the ASL uses is listed in [`Error::NAMES`].
//! A failed health check or hook is not an error: it is a verdict (see `health` and `usecase::hook`).

/// Every way a rollout operation can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The request is malformed. `field` is the JSON path of the offending field; `message` says what is valid.
    #[error("invalid request: {field}: {message}")]
    InvalidRequest { field: String, message: String },

    /// Something the request names does not exist in AWS (function, alias, version, hook function, alarm).
    #[error("not found: {field}: {message}")]
    ResourceNotFound { field: String, message: String },

    /// The alias is already weighted: another rollout owns it. Nothing was changed.
    #[error("alias {alias} is busy: {message}")]
    AliasBusy { alias: String, message: String },

    /// The alias changed under us (RevisionId mismatch, or a read-back that did not match the write).
    /// The rollout stops instead of overwriting someone else's change.
    #[error("alias {alias} changed outside this rollout: {message}")]
    AliasChanged { alias: String, message: String },

    /// A retryable failure: a 5xx, a timeout, a dropped connection.
    #[error("transient failure in {operation}: {message}")]
    Transient { operation: String, message: String },

    /// AWS throttled the call, still, after the SDK's own retries: the account's budget for that API (Lambda's
    /// control plane: 15 requests a second, shared by every tool in the account) is spent. Retryable, after a
    /// longer, jittered wait than a [`Error::Transient`] (`retry::THROTTLE`).
    #[error("throttled in {operation}: {message}")]
    Throttled { operation: String, message: String },

    /// AWS refused the call for a reason retrying will not fix (access denied, a rule AWS enforces).
    #[error("AWS rejected {operation}: {message}")]
    AwsRejected { operation: String, message: String },

    /// State handed between steps is unusable (wrong schema version, impossible step index).
    #[error("invalid rollout state: {message}")]
    InvalidState { message: String },
}

impl Error {
    /// The stable names, as reported in `errorType` by the Lambda functions.
    pub const NAMES: [&'static str; 8] = [
        "InvalidRequest",
        "ResourceNotFound",
        "AliasBusy",
        "AliasChanged",
        "Transient",
        "Throttled",
        "AwsRejected",
        "InvalidState",
    ];

    pub fn error_type(&self) -> &'static str {
        match self {
            Error::InvalidRequest { .. } => "InvalidRequest",
            Error::ResourceNotFound { .. } => "ResourceNotFound",
            Error::AliasBusy { .. } => "AliasBusy",
            Error::AliasChanged { .. } => "AliasChanged",
            Error::Transient { .. } => "Transient",
            Error::Throttled { .. } => "Throttled",
            Error::AwsRejected { .. } => "AwsRejected",
            Error::InvalidState { .. } => "InvalidState",
        }
    }

    /// True when the request itself was at fault and nothing was changed (CLI exit code 2).
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidRequest { .. } | Error::ResourceNotFound { .. }
        )
    }

    /// True when another actor owns or changed the alias (CLI exit code 3).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::AliasBusy { .. } | Error::AliasChanged { .. })
    }

    /// Worth retrying: a transient failure or a throttle.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transient { .. } | Error::Throttled { .. })
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidRequest {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::ResourceNotFound {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_listed_stable_name() {
        let all = [
            Error::invalid("f", "m"),
            Error::not_found("f", "m"),
            Error::AliasBusy {
                alias: "a".into(),
                message: "m".into(),
            },
            Error::AliasChanged {
                alias: "a".into(),
                message: "m".into(),
            },
            Error::Transient {
                operation: "o".into(),
                message: "m".into(),
            },
            Error::Throttled {
                operation: "o".into(),
                message: "m".into(),
            },
            Error::AwsRejected {
                operation: "o".into(),
                message: "m".into(),
            },
            Error::InvalidState {
                message: "m".into(),
            },
        ];
        let names: Vec<_> = all.iter().map(Error::error_type).collect();
        assert_eq!(names, Error::NAMES.to_vec());
        for name in Error::NAMES {
            assert!(
                !name.starts_with("States."),
                "Step Functions reserves the States. prefix"
            );
        }
    }

    #[test]
    fn exit_classes_do_not_overlap() {
        let busy = Error::AliasBusy {
            alias: "a".into(),
            message: "m".into(),
        };
        assert!(busy.is_conflict() && !busy.is_invalid_input() && !busy.is_transient());
        let bad = Error::invalid("alias", "must not be empty");
        assert!(bad.is_invalid_input() && !bad.is_conflict());
        assert_eq!(bad.to_string(), "invalid request: alias: must not be empty");
    }
}
