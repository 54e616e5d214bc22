//! `shifter-notify`: the Lambda function behind the state machine's notify step. See the library for the handler.

#[tokio::main]
async fn main() -> Result<(), shifter_lambda::RuntimeError> {
    shifter_lambda::serve("notify", |ports, input| async move {
        shifter_notify::handle(&ports, input).await
    })
    .await
}
