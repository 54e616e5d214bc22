//! Whatever shifter (or a bug in it) writes, the fake never lets an alias into a state AWS forbids, and the
//! RevisionId moves exactly when a write succeeds.

use proptest::prelude::*;

use super::*;
use crate::domain::WeightedVersion;
use crate::plan::FULL_BPS;
use crate::ports::AliasRouter;

const F: &str = "app";
const A: &str = "live";
/// Versions 1-3 share a config, 4 has another role, 5 has a DLQ; 6 and 7 are unpublished.
const CANDIDATES: [&str; 8] = ["1", "2", "3", "4", "5", "6", "7", "$LATEST"];

fn fake() -> FakeAws {
    let aws = FakeAws::new();
    aws.add_function(F);
    for n in 1..=5 {
        aws.publish(F, &format!("code-{n}"));
    }
    aws.set_version_config(F, "4", "arn:aws:iam::123456789012:role/other", None);
    let role = default_role(F);
    aws.set_version_config(
        F,
        "5",
        &role,
        Some("arn:aws:sqs:us-east-1:123456789012:dlq"),
    );
    aws.add_alias(F, A, Routing::single("1"));
    aws
}

/// The configuration of a published version, as the oracle knows it: (role, dlq).
fn config(version: &str) -> Option<(u8, u8)> {
    match version {
        "1" | "2" | "3" => Some((0, 0)),
        "4" => Some((1, 0)),
        "5" => Some((0, 1)),
        _ => None,
    }
}

/// An independent statement of rules 2-4.
fn allowed(routing: &Routing) -> bool {
    let Some(primary) = config(&routing.function_version) else {
        return false;
    };
    match &routing.additional {
        None => true,
        Some(extra) => {
            extra.version != routing.function_version
                && extra.weight_bps <= FULL_BPS
                && config(&extra.version) == Some(primary)
        }
    }
}

#[derive(Debug, Clone)]
enum Fence {
    Fresh,
    /// One of the RevisionIds seen so far (index modulo their count); the current one excluded.
    Stale(usize),
    Bogus,
}

#[derive(Debug, Clone)]
struct Write {
    routing: Routing,
    fence: Fence,
}

fn version() -> impl Strategy<Value = String> {
    prop::sample::select(CANDIDATES.to_vec()).prop_map(str::to_string)
}

fn write() -> impl Strategy<Value = Write> {
    let additional = prop::option::of((version(), 0u32..=12_000).prop_map(
        |(version, weight_bps)| WeightedVersion {
            version,
            weight_bps,
        },
    ));
    let fence = prop_oneof![
        6 => Just(Fence::Fresh),
        2 => any::<usize>().prop_map(Fence::Stale),
        1 => Just(Fence::Bogus),
    ];
    (version(), additional, fence).prop_map(|(function_version, additional, fence)| Write {
        routing: Routing {
            function_version,
            additional,
        },
        fence,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn alias_never_breaks_aws_rules(writes in prop::collection::vec(write(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let aws = fake();
        let mut seen = vec![aws.alias(F, A).revision_id];
        let mut successes = 0;
        for w in writes {
            let before = aws.alias(F, A);
            let stale: Vec<&String> = seen.iter().filter(|r| **r != before.revision_id).collect();
            let (revision, fresh) = match w.fence {
                Fence::Stale(i) if !stale.is_empty() => (stale[i % stale.len()].clone(), false),
                Fence::Bogus => ("bogus".to_string(), false),
                _ => (before.revision_id.clone(), true),
            };
            let result = runtime.block_on(aws.write_alias(F, A, &w.routing, &revision));
            let after = aws.alias(F, A);

            prop_assert!(allowed(&after.routing), "alias in a forbidden state: {:?}", after.routing);
            prop_assert_eq!(result.is_ok(), fresh && allowed(&w.routing), "{:?} -> {:?}", w, result);
            prop_assert_eq!(result.is_ok(), after.revision_id != before.revision_id);
            match result {
                Ok(state) => {
                    prop_assert_eq!(&state, &after);
                    prop_assert_eq!(&after.routing, &w.routing);
                    prop_assert!(!seen.contains(&after.revision_id), "RevisionId reused");
                    seen.push(after.revision_id.clone());
                    successes += 1;
                }
                Err(Error::AliasChanged { .. }) => {
                    prop_assert!(!fresh);
                    prop_assert_eq!(&after, &before);
                }
                Err(_) => prop_assert_eq!(&after, &before),
            }
        }
        let history = aws.history(F, A);
        prop_assert_eq!(history.len(), successes + 1);
        prop_assert!(history.iter().all(allowed));
    }
}
