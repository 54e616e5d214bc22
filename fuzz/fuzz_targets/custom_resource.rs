//! The CloudFormation custom-resource event (`Custom::ShifterAlias`), as the provider reads it:
//! `shifter_lambda::parse` into `CustomResourceEvent`, then `AliasProperties::from_value` on the
//! ResourceProperties of a Create or Update (and an Update's OldResourceProperties). Rejections are
//! `InvalidState` for the envelope and `InvalidRequest` under `Properties` for the properties; the rollout id
//! made of the RequestId is a valid execution name.
#![no_main]

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as Request;
use libfuzzer_sys::fuzz_target;
use shifter::custom_resource::properties::AliasProperties;
use shifter_alias_provider::CustomResourceEvent;
use shifter_lambda::Traced;

mod common;

fn properties(value: &serde_json::Value) {
    match AliasProperties::from_value(value) {
        Err(e) => common::invalid_request(&e, "Properties"),
        Ok(p) => {
            assert!(!p.version.is_empty());
            assert!(
                p.service_timeout_seconds
                    <= shifter::custom_resource::properties::MAX_SERVICE_TIMEOUT_SECONDS
            );
            p.spec.plan.check().expect("accepted properties plan");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(value) = common::json(data) else {
        return;
    };
    let event: CustomResourceEvent = match shifter_lambda::parse(value) {
        Ok(e) => e,
        Err(e) => return common::parse_rejection(&e),
    };
    let id = event.rollout_id();
    // Step Functions: execution names are 1-80 of [A-Za-z0-9_-].
    assert!(id.starts_with("cfn-") && id.len() <= 80, "{id:?}");
    assert!(id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    match &event.request {
        Request::Create(e) => properties(&e.resource_properties),
        Request::Update(e) => {
            properties(&e.resource_properties);
            properties(&e.old_resource_properties);
        }
        _ => {}
    }
});
