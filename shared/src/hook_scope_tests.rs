use super::*;

const ACCOUNT: &str = "123456789012";

fn home() -> Caller {
    Caller {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account: ACCOUNT.into(),
    }
}

fn arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}")
}

fn hooks(pre: Option<&str>, post: Option<&str>) -> Hooks {
    Hooks {
        pre_traffic: pre.map(str::to_string),
        post_traffic: post.map(str::to_string),
    }
}

fn pattern(p: &str) -> HookScope {
    HookScope::from_setting(p)
}

/// The field and message of the refusal of a pre-traffic hook, or None when it is let through.
fn refusal(scope: &HookScope, hook: &str) -> Option<(String, String)> {
    match scope.check(&hooks(Some(hook), None), &home()) {
        Ok(()) => None,
        Err(Error::InvalidRequest { field, message }) => Some((field, message)),
        Err(other) => panic!("{other:?}"),
    }
}

#[test]
fn a_literal_pattern_matches_only_that_arn() {
    let p = arn("checks");
    assert!(matches(&p, &arn("checks")));
    assert!(!matches(&p, &arn("checks2")));
    assert!(!matches(&p, &arn("check")));
    assert!(!matches(&p, ""));
    assert!(matches("", ""));
    assert!(!matches("", &arn("checks")));
}

#[test]
fn matching_is_case_sensitive_as_iam_and_lambda_names_are() {
    assert!(!matches(&arn("checks-*"), &arn("Checks-pre")));
    assert!(!matches(&arn("Checks-*"), &arn("checks-pre")));
}

#[test]
fn a_trailing_star_covers_names_versions_and_aliases() {
    let p = arn("checks-*");
    for hook in [
        "checks-",
        "checks-pre",
        "checks-pre:live",
        "checks-pre:3",
        "checks-pre:$LATEST",
    ] {
        assert!(matches(&p, &arn(hook)), "{hook}");
    }
    assert!(!matches(&p, &arn("orders")));
    assert!(!matches(&p, &arn("checks")));
}

#[test]
fn a_star_within_a_segment_stays_in_it() {
    let p = arn("checks-*-hook");
    assert!(matches(&p, &arn("checks-pre-hook")));
    assert!(matches(&p, &arn("checks--hook")));
    assert!(matches(&p, &arn("checks-a-b-hook")));
    assert!(!matches(&p, &arn("checks-pre-hook2")));
    // The name `checks-x` with the alias `y-hook`: a mid-segment `*` does not run past the colon.
    assert!(!matches(&p, &arn("checks-x:y-hook")));
    // One star per segment, several segments.
    let p = "arn:aws:lambda:*:123456789012:function:*-hook";
    assert!(matches(p, &arn("pre-hook")));
    assert!(matches(
        p,
        "arn:aws:lambda:eu-west-1:123456789012:function:pre-hook"
    ));
    assert!(!matches(p, &arn("pre-hook:live")));
}

#[test]
fn a_star_that_ends_a_segment_may_run_past_colons() {
    // `*` is the whole region segment here: IAM lets it expand over colon boundaries.
    let p = "arn:aws:lambda:*:function:checks";
    assert!(matches(p, &arn("checks")));
    assert!(matches("*", &arn("anything:live")));
    assert!(matches("arn:aws:lambda:*", &arn("checks:live")));
    assert!(!matches(
        "arn:aws:lambda:*",
        "arn:aws:sns:us-east-1:123456789012:topic"
    ));
}

#[test]
fn a_question_mark_is_one_character_within_a_segment() {
    let p = arn("checks-v?");
    assert!(matches(&p, &arn("checks-v1")));
    assert!(matches(&p, &arn("checks-v2")));
    assert!(!matches(&p, &arn("checks-v")));
    assert!(!matches(&p, &arn("checks-v10")));
    // Not the colon before a qualifier.
    assert!(!matches(&arn("checks?1"), &arn("checks:1")));
    assert!(matches(&arn("checks-??:live"), &arn("checks-v1:live")));
}

#[test]
fn many_stars_match_quickly() {
    let p = format!("{}x", "*a".repeat(60));
    let text = "a".repeat(200);
    assert!(!matches(&p, &text));
    assert!(matches(&p, &format!("{text}x")));
}

#[test]
fn a_bare_name_resolves_in_the_callers_partition_region_and_account() {
    assert_eq!(invoked_arn("checks", &home()), arn("checks"));
    assert_eq!(invoked_arn("checks:live", &home()), arn("checks:live"));
    let china = Caller {
        partition: "aws-cn".into(),
        region: "cn-north-1".into(),
        account: "210987654321".into(),
    };
    assert_eq!(
        invoked_arn("checks:3", &china),
        "arn:aws-cn:lambda:cn-north-1:210987654321:function:checks:3"
    );
    let given = "arn:aws:lambda:eu-west-1:210987654321:function:checks:live";
    assert_eq!(invoked_arn(given, &home()), given);
}

#[test]
fn an_empty_pattern_is_every_function_of_this_account_and_region() {
    let scope = pattern("");
    assert_eq!(scope, HookScope::ThisAccountAndRegion);
    assert_eq!(scope.pattern(&home()), arn("*"));
    for hook in [
        "checks",
        "checks:live",
        "checks:3",
        &arn("checks"),
        &arn("checks:live"),
    ] {
        assert_eq!(refusal(&scope, hook), None, "{hook}");
    }
    for outside in [
        "arn:aws:lambda:eu-west-1:123456789012:function:checks",
        "arn:aws:lambda:us-east-1:210987654321:function:checks",
        "arn:aws-cn:lambda:us-east-1:123456789012:function:checks",
        "arn:aws-us-gov:lambda:us-east-1:123456789012:function:checks:live",
    ] {
        let (field, message) = refusal(&scope, outside).expect(outside);
        assert_eq!(field, "hooks.preTraffic");
        assert!(message.contains(&arn("*")), "{message}");
    }
}

#[test]
fn a_pattern_refuses_hooks_of_other_partitions_regions_accounts_and_names() {
    let scope = pattern("arn:aws:lambda:us-east-1:123456789012:function:checks-*");
    assert_eq!(refusal(&scope, "checks-pre"), None);
    assert_eq!(refusal(&scope, &arn("checks-pre:live")), None);
    for outside in [
        "orders-pre",
        "orders-pre:live",
        "arn:aws:lambda:eu-west-1:123456789012:function:checks-pre",
        "arn:aws:lambda:us-east-1:210987654321:function:checks-pre",
        "arn:aws-cn:lambda:us-east-1:123456789012:function:checks-pre",
    ] {
        assert!(refusal(&scope, outside).is_some(), "{outside}");
    }
    // A bare name resolves in the caller's account: in another one, the same name is outside.
    let elsewhere = Caller {
        account: "210987654321".into(),
        ..home()
    };
    assert!(scope
        .check(&hooks(Some("checks-pre"), None), &elsewhere)
        .is_err());
}

#[test]
fn a_qualified_hook_needs_a_pattern_that_covers_the_qualifier() {
    let exact = pattern(&arn("checks"));
    assert_eq!(refusal(&exact, "checks"), None);
    assert!(refusal(&exact, "checks:live").is_some());
    assert!(refusal(&exact, "checks:3").is_some());
    let qualified = pattern(&arn("checks:live"));
    assert_eq!(refusal(&qualified, "checks:live"), None);
    assert!(refusal(&qualified, "checks").is_some());
    assert!(refusal(&qualified, "checks:3").is_some());
    let any_qualifier = pattern(&arn("checks:*"));
    assert_eq!(refusal(&any_qualifier, "checks:3"), None);
    assert!(refusal(&any_qualifier, "checks").is_some());
}

#[test]
fn the_refusal_names_the_field_the_hook_its_arn_the_pattern_and_the_fix() {
    let p = "arn:aws:lambda:us-east-1:123456789012:function:checks-*";
    let (field, message) = refusal(&pattern(p), "orders-pre").unwrap();
    assert_eq!(field, "hooks.preTraffic");
    assert_eq!(
        message,
        format!(
            "orders-pre ({}) is outside the functions this shifter may invoke as hooks \
             (HookFunctionArnPattern `{p}`): use a hook matching HookFunctionArnPattern `{p}`, or redeploy \
             shifter with a pattern that covers it",
            arn("orders-pre")
        )
    );
    // An ARN is not repeated.
    let (_, message) = refusal(&pattern(p), &arn("orders-pre")).unwrap();
    assert!(
        message.starts_with(&format!("{} is outside", arn("orders-pre"))),
        "{message}"
    );
    let e = pattern(p)
        .check(&hooks(Some("orders-pre"), None), &home())
        .unwrap_err();
    assert_eq!(e.error_type(), "InvalidRequest");
    assert!(e.is_invalid_input());
}

#[test]
fn both_hooks_are_checked_and_no_hooks_pass() {
    let scope = pattern(&arn("checks-*"));
    let post = scope
        .check(&hooks(Some("checks-pre"), Some("orders-post")), &home())
        .unwrap_err();
    assert!(matches!(&post, Error::InvalidRequest { field, .. } if field == "hooks.postTraffic"));
    let pre = scope
        .check(&hooks(Some("orders-pre"), Some("orders-post")), &home())
        .unwrap_err();
    assert!(matches!(&pre, Error::InvalidRequest { field, .. } if field == "hooks.preTraffic"));
    assert!(scope.check(&hooks(None, None), &home()).is_ok());
    assert!(scope
        .check(
            &hooks(Some("checks-pre"), Some("checks-post:live")),
            &home()
        )
        .is_ok());
}
