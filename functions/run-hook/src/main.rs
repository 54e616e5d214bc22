//! `shifter-run-hook`: the Lambda function behind the state machine's run-hook step. See the library for the handler.

#[tokio::main]
async fn main() -> Result<(), shifter_lambda::RuntimeError> {
    shifter_lambda::serve("run-hook", |ports, input| async move {
        shifter_run_hook::handle(&ports, input).await
    })
    .await
}
