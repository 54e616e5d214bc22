//! `shifter-wait`: the Lambda function behind the state machine's Bake and Paused callback Tasks. See the
//! library for the handler.

#[tokio::main]
async fn main() -> Result<(), shifter_lambda::RuntimeError> {
    shifter_lambda::serve("wait", |ports, input| async move {
        shifter_wait::handle(&ports, input).await
    })
    .await
}
