//! `shifter-prepare`: the Lambda function behind the state machine's prepare step. See the library for the handler.

#[tokio::main]
async fn main() -> Result<(), shifter_lambda::RuntimeError> {
    // The stack's topic, used when a request names none (empty or unset: no notifications by default).
    let default_topic = std::env::var("SHIFTER_DEFAULT_TOPIC_ARN")
        .ok()
        .filter(|t| !t.is_empty());
    shifter_lambda::serve("prepare", move |ports, input| {
        let default_topic = default_topic.clone();
        async move { shifter_prepare::handle(&ports, input, default_topic.as_deref()).await }
    })
    .await
}
