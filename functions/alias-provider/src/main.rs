//! `shifter-alias-provider`: the Lambda function behind `Custom::ShifterAlias` (its ServiceToken, exported
//! by the stack as `AliasProviderArn`). See the library for the handler.

use shifter::aws::custom_resource::ProviderAdapters;

#[tokio::main]
async fn main() -> Result<(), shifter_lambda::RuntimeError> {
    let state_machine_arn = std::env::var("SHIFTER_STATE_MACHINE_ARN").unwrap_or_default();
    let state_machine_arn = &state_machine_arn;
    shifter_lambda::serve("alias-provider", |aws, event| async move {
        let ports = ProviderAdapters {
            aws,
            state_machine_arn: state_machine_arn.clone(),
        };
        shifter_alias_provider::handle(&ports, event).await
    })
    .await
}
