//! `shifter-execution-cleanup`: the Lambda function behind the EventBridge rule on "Step Functions Execution
//! Status Change". See the library for the handler.

#[tokio::main]
async fn main() -> Result<(), shifter_lambda::RuntimeError> {
    shifter_lambda::serve("execution-cleanup", |ports, event| async move {
        shifter_execution_cleanup::handle(&ports, event).await
    })
    .await
}
