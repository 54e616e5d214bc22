//! Which functions a rollout may run as hooks: the stack's `HookFunctionArnPattern` (template.yaml). IAM enforces
//! it on Prepare's GetFunction of a hook and on RunHook's InvokeFunction; Prepare also checks it here, before
//! anything else it does, so that a hook outside it is refused as an invalid request that names the field and the
//! fix, before any read or write, instead of surfacing as an AccessDenied from Lambda.
//!
//! The pattern is matched as IAM documents for a policy's `Resource`: case-sensitively, `?` stands for one
//! character and `*` for any run of characters, both within one colon-separated segment of the ARN; a `*` that
//! ends a segment (followed by `:` or the end of the pattern) may also run past colons.
//!
//! Qualifiers: RunHook invokes a hook by the reference the request gives (Invoke's FunctionName, no Qualifier),
//! so IAM authorizes InvokeFunction on the qualified ARN, `...:function:checks:live`, and this check matches that
//! same ARN. `...:function:checks` therefore does not cover `checks:live`; `...:function:checks*` covers the
//! function, its versions and its aliases (which is why the parameter's description asks for a trailing `*`).

use crate::domain::Caller;
use crate::error::{Error, Result};
use crate::request::Hooks;

/// Prepare's environment variable that carries `HookFunctionArnPattern`.
pub const PATTERN_ENV: &str = "SHIFTER_HOOK_FUNCTION_ARN_PATTERN";

/// The functions shifter may invoke as hooks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum HookScope {
    /// Every function of the caller's account and region: the template's default (an empty pattern).
    #[default]
    ThisAccountAndRegion,
    /// An IAM resource pattern over function ARNs.
    Pattern(String),
}

impl HookScope {
    /// The template parameter's value: empty stands for every function of this account and region.
    pub fn from_setting(setting: &str) -> Self {
        if setting.is_empty() {
            HookScope::ThisAccountAndRegion
        } else {
            HookScope::Pattern(setting.to_string())
        }
    }

    /// The IAM resource pattern this scope stands for, as the template writes it into the roles' policies.
    pub fn pattern(&self, home: &Caller) -> String {
        match self {
            HookScope::ThisAccountAndRegion => format!(
                "arn:{}:lambda:{}:{}:function:*",
                home.partition, home.region, home.account
            ),
            HookScope::Pattern(pattern) => pattern.clone(),
        }
    }

    /// Refuses the first hook outside the scope, naming its field (`hooks.preTraffic`, `hooks.postTraffic`).
    /// `home` is who shifter runs as: a bare hook name resolves to a function of its account and region.
    pub fn check(&self, hooks: &Hooks, home: &Caller) -> Result<()> {
        let pattern = self.pattern(home);
        for (field, hook) in [
            ("hooks.preTraffic", &hooks.pre_traffic),
            ("hooks.postTraffic", &hooks.post_traffic),
        ] {
            let Some(hook) = hook else { continue };
            let arn = invoked_arn(hook, home);
            if !matches(&pattern, &arn) {
                let named = if arn == *hook {
                    hook.to_string()
                } else {
                    format!("{hook} ({arn})")
                };
                return Err(Error::invalid(
                    field,
                    format!(
                        "{named} is outside the functions this shifter may invoke as hooks \
                         (HookFunctionArnPattern `{pattern}`): use a hook matching HookFunctionArnPattern \
                         `{pattern}`, or redeploy shifter with a pattern that covers it"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The ARN IAM authorizes when the hook `reference` is invoked: an ARN as given (with its qualifier, if any); a
/// name, or `name:qualifier`, as the function of that name in `home`'s partition, region and account, as Lambda
/// resolves it. Request validation has already checked that `reference` is one of those forms.
pub fn invoked_arn(reference: &str, home: &Caller) -> String {
    if reference.starts_with("arn:") {
        reference.to_string()
    } else {
        format!(
            "arn:{}:lambda:{}:{}:function:{reference}",
            home.partition, home.region, home.account
        )
    }
}

/// Whether `arn` matches the IAM resource pattern `pattern` (see the module's documentation).
pub fn matches(pattern: &str, arn: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let arn: Vec<char> = arn.chars().collect();
    // rest[j]: whether pattern[i..] matches arn[j..], for the current i, computed from the pattern's end.
    let mut rest: Vec<bool> = (0..=arn.len()).map(|j| j == arn.len()).collect();
    for i in (0..pattern.len()).rev() {
        let mut here = vec![false; arn.len() + 1];
        match pattern[i] {
            '*' => {
                let ends_segment = pattern.get(i + 1).is_none_or(|&next| next == ':');
                for j in (0..=arn.len()).rev() {
                    let consume = j < arn.len() && (ends_segment || arn[j] != ':') && here[j + 1];
                    here[j] = rest[j] || consume;
                }
            }
            '?' => {
                for j in 0..arn.len() {
                    here[j] = arn[j] != ':' && rest[j + 1];
                }
            }
            literal => {
                for j in 0..arn.len() {
                    here[j] = arn[j] == literal && rest[j + 1];
                }
            }
        }
        rest = here;
    }
    rest[0]
}

#[cfg(test)]
#[path = "hook_scope_tests.rs"]
mod tests;
