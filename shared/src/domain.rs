//! Domain values shared by the use cases and the ports. No SDK types here: adapters convert at the edge.

use serde::{Deserialize, Serialize};

use crate::plan::FULL_BPS;

/// Where an alias sends traffic: one primary version, and optionally a second version with a share of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Routing {
    pub function_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional: Option<WeightedVersion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightedVersion {
    pub version: String,
    pub weight_bps: u32,
}

impl Routing {
    pub fn single(version: &str) -> Self {
        Routing {
            function_version: version.to_string(),
            additional: None,
        }
    }

    /// `old` keeps `10000 - weight_bps`, `new` gets `weight_bps`. 0 and 100% are plain single-version routes.
    pub fn split(old: &str, new: &str, weight_bps: u32) -> Self {
        match weight_bps {
            0 => Routing::single(old),
            w if w >= FULL_BPS => Routing::single(new),
            w => Routing {
                function_version: old.to_string(),
                additional: Some(WeightedVersion {
                    version: new.to_string(),
                    weight_bps: w,
                }),
            },
        }
    }

    pub fn is_weighted(&self) -> bool {
        self.additional.is_some()
    }

    /// The share of traffic `version` receives, in basis points.
    pub fn weight_of(&self, version: &str) -> u32 {
        match &self.additional {
            Some(a) if a.version == version => a.weight_bps,
            Some(a) if self.function_version == version => FULL_BPS - a.weight_bps,
            None if self.function_version == version => FULL_BPS,
            _ => 0,
        }
    }
}

impl std::fmt::Display for Routing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.additional {
            None => write!(f, "v{} 100%", self.function_version),
            Some(a) => write!(
                f,
                "v{} {} + v{} {}",
                self.function_version,
                percent(FULL_BPS - a.weight_bps),
                a.version,
                percent(a.weight_bps)
            ),
        }
    }
}

/// An alias as read from (or written to) Lambda, with the RevisionId that fences the next write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasState {
    pub routing: Routing,
    pub revision_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionInfo {
    pub name: String,
    pub arn: String,
}

/// What Lambda says of one version (or `$LATEST`): what the alias rules compare, and whether it is ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub arn: String,
    /// The execution role. Lambda refuses to weight two versions whose roles differ.
    pub role: String,
    /// The dead-letter target, if any. Lambda refuses to weight two versions whose DLQ configs differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_arn: Option<String>,
    /// `Pending`, `Active`, `Inactive` or `Failed` (Lambda's `State`).
    pub state: String,
    /// `InProgress`, `Successful` or `Failed` (Lambda's `LastUpdateStatus`); PublishVersion answers
    /// ResourceConflictException while an update is in progress.
    pub last_update_status: String,
    /// Lambda's `StateReason` or `LastUpdateStatusReason`, for the error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The partition, region and account the AWS clients act in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// `aws`, `aws-cn`, `aws-us-gov`...: the second field of every ARN here.
    pub partition: String,
    pub region: String,
    pub account: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmStatus {
    pub name: String,
    pub state: AlarmState,
    /// When the state value last changed (CloudWatch's StateTransitionedTimestamp), in ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transitioned_ms: Option<u64>,
}

/// What a hook invocation came back with, before interpretation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookReply {
    /// Lambda's `FunctionError` (`Unhandled`, or a timeout's), when the hook itself failed.
    pub function_error: Option<String>,
    pub payload: Vec<u8>,
}

/// Basis points as a percent for people: 1000 -> "10%", 50 -> "0.5%".
pub fn percent(bps: u32) -> String {
    if bps.is_multiple_of(100) {
        format!("{}%", bps / 100)
    } else {
        let s = format!("{:.2}", f64::from(bps) / 100.0);
        format!("{}%", s.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_routes_normalise_the_ends() {
        assert_eq!(Routing::split("1", "2", 0), Routing::single("1"));
        assert_eq!(Routing::split("1", "2", 10_000), Routing::single("2"));
        let r = Routing::split("1", "2", 2_500);
        assert!(r.is_weighted());
        assert_eq!(
            (r.weight_of("1"), r.weight_of("2"), r.weight_of("3")),
            (7_500, 2_500, 0)
        );
        assert_eq!(r.to_string(), "v1 75% + v2 25%");
    }

    #[test]
    fn percent_formats_basis_points() {
        assert_eq!(percent(1000), "10%");
        assert_eq!(percent(50), "0.5%");
        assert_eq!(percent(1), "0.01%");
        assert_eq!(percent(10_000), "100%");
    }
}
