//! `shifter-advance`: the Lambda function behind the state machine's advance step. See the library for the handler.

#[tokio::main]
async fn main() -> Result<(), shifter_lambda::RuntimeError> {
    shifter_lambda::serve("advance", |ports, state| async move {
        shifter_advance::handle(&ports, state).await
    })
    .await
}
