//! `shifter-finalize`: the Lambda function behind the state machine's finalize step. See the library for the handler.

#[tokio::main]
async fn main() -> Result<(), shifter_lambda::RuntimeError> {
    shifter_lambda::serve("finalize", |ports, state| async move {
        shifter_finalize::handle(&ports, state).await
    })
    .await
}
