//! `shifter-alarm-watcher`: the Lambda function behind the EventBridge rule on "CloudWatch Alarm State
//! Change". See the library for the handler.

#[tokio::main]
async fn main() -> Result<(), shifter_lambda::RuntimeError> {
    shifter_lambda::serve("alarm-watcher", |ports, event| async move {
        shifter_alarm_watcher::handle(&ports, event).await
    })
    .await
}
