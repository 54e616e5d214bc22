//! The AWS configuration of this shell (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL and the credential chain),
//! checked before the first call: without a region or credentials, the SDK would fail every call with a
//! dispatch error that reads like a network problem. The check names what is missing instead.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;

/// Exit code for a command that could not start for want of AWS configuration (nothing was called).
pub const EXIT_NO_AWS: i32 = 1;

/// What is missing, as the command reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    Region,
    Credentials { detail: String },
}

impl Missing {
    /// The error and its hint, two lines. `done` says what did not happen (`nothing was changed`).
    pub fn message(&self, done: &str) -> String {
        match self {
            Missing::Region => format!(
                "error: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or a region in the AWS_PROFILE's \
                 config; {done}\n\
                 hint: shifter calls AWS with this shell's configuration, as the AWS CLI does"
            ),
            Missing::Credentials { detail } => format!(
                "error: no AWS credentials found ({detail}); {done}\n\
                 hint: set AWS_PROFILE to a profile in ~/.aws/config, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
                 (`aws sts get-caller-identity` shows the identity in use)"
            ),
        }
    }
}

/// Loads this shell's configuration and makes sure it has a region and credentials.
pub async fn load() -> Result<SdkConfig, Missing> {
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    check(&config).await?;
    Ok(config)
}

/// The region, then the credentials (the chain is asked once here; the clients ask again when they call).
pub async fn check(config: &SdkConfig) -> Result<(), Missing> {
    if config.region().is_none() {
        return Err(Missing::Region);
    }
    let Some(provider) = config.credentials_provider() else {
        return Err(Missing::Credentials {
            detail: "no credential provider is configured".into(),
        });
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(e) => {
            // The SDK's account of each provider it tried, for SHIFTER_LOG=debug.
            tracing::debug!(error = %aws_sdk_sfn::error::DisplayErrorContext(&e), "no credentials");
            Err(Missing::Credentials {
                detail: CHAIN.into(),
            })
        }
    }
}

/// Where the SDK's default chain looks, in its order.
const CHAIN: &str =
    "looked in the environment, the profile files, web identity, ECS and EC2 instance metadata";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_messages_name_what_is_missing_and_that_nothing_changed() {
        insta::assert_snapshot!(
            "missing_region",
            Missing::Region.message("nothing was changed")
        );
        insta::assert_snapshot!(
            "missing_credentials",
            Missing::Credentials {
                detail: CHAIN.into()
            }
            .message("nothing was changed")
        );
    }
}
