//! The repository's example request (events/requests/canary.json), deployed from its file in-process over
//! the AWS fake: what stdout prints in JSON mode is exactly what SNS receives.

use clap::Parser;
use shifter::domain::{AlarmState, Routing};
use shifter::fake::{FakeAws, FakeClock, HookBehaviour};
use shifter::notification::Notification;
use shifter_cli::args::{Cli, Command};
use shifter_cli::deploy::Deployment;
use shifter_cli::local;
use shifter_cli::render::{Captured, Renderer};

const FN: &str = "orders";
const ALIAS: &str = "live";
const ALARM: &str = "orders-errors";

/// events/requests/canary.json as it is, against an account that has what it names.
#[tokio::test]
async fn the_example_canary_request_runs_from_its_file() {
    let topic = "arn:aws:sns:us-east-1:123456789012:shifter-notifications";
    let aws = FakeAws::new();
    aws.add_function(FN);
    for n in 1..=7 {
        aws.publish(FN, &format!("code-{n}"));
    }
    aws.add_alias(FN, ALIAS, Routing::single("6"))
        .set_alarm(ALARM, AlarmState::Ok)
        .set_hook("orders-pre-traffic", HookBehaviour::Succeed)
        .set_hook("orders-post-traffic", HookBehaviour::Succeed)
        .add_topic(topic);
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/requests/canary.json"
    );
    let argv = [
        "shifter",
        "deploy",
        "--local",
        "--request",
        file,
        "--output",
        "json",
    ];
    let Command::Deploy(args) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("not a deploy");
    };
    let deployment = Deployment::from_args(&args).expect("the example is valid");
    let out = Captured::default();
    let mut render = Renderer::new(args.output, out.sink(), Captured::default().sink(), false);
    let outcome = local::drive(&aws, &FakeClock::default(), &deployment, &mut render).await;
    assert_eq!(outcome.exit_code(), 0, "{outcome:?}");
    assert_eq!(
        aws.history(FN, ALIAS),
        [
            Routing::single("6"),
            Routing::split("6", "7", 1000),
            Routing::single("7")
        ]
    );
    let published: Vec<Notification> = aws.notifications().into_iter().map(|(_, n)| n).collect();
    let printed: Vec<Notification> = out
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        printed.len(),
        6,
        "started, pre hook, 10%, 100%, post hook, succeeded: {printed:#?}"
    );
    assert_eq!(published, printed, "stdout shows exactly what SNS got");
}
