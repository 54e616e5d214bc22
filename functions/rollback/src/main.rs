//! `shifter-rollback`: the Lambda function behind the state machine's rollback step. See the library for the handler.

#[tokio::main]
async fn main() -> Result<(), shifter_lambda::RuntimeError> {
    shifter_lambda::serve("rollback", |ports, state| async move {
        shifter_rollback::handle(&ports, state).await
    })
    .await
}
