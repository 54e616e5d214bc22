//! `shifter-prepare`: the Lambda function behind the state machine's prepare step. See the library for the handler.

#[tokio::main]
async fn main() -> Result<(), shifter_lambda::RuntimeError> {
    // The stack's topic and HookFunctionArnPattern (see `Settings`).
    let settings = shifter_prepare::Settings::from_env(|name| std::env::var(name).ok());
    shifter_lambda::serve("prepare", move |ports, input| {
        let settings = settings.clone();
        async move { shifter_prepare::handle(&ports, input, &settings).await }
    })
    .await
}
