//! The ports, over the fake's state. Every call is counted, then fails if a failure was injected for it, and
//! only then does its work.

use serde_json::json;

use super::{function_arn, ChangeSource, FakeAws, HookBehaviour, Op};
use crate::domain::{
    AlarmState, AlarmStatus, AliasState, Caller, FunctionInfo, HookReply, Routing, VersionInfo,
};
use crate::error::{Error, Result};
use crate::notification::Notification;
use crate::ports::{
    AlarmSource, AliasRouter, CallerIdentity, FunctionRegistry, HookInvoker, Notifier,
};

/// DescribeAlarms accepts at most 100 AlarmNames.
pub const MAX_ALARM_NAMES: usize = 100;

fn alias_not_found(function: &str, alias: &str) -> Error {
    Error::not_found(
        "",
        format!("Alias not found: {}:{alias}", function_arn(function)),
    )
}

impl AliasRouter for FakeAws {
    async fn read_alias(&self, function: &str, alias: &str) -> Result<AliasState> {
        self.admit(Op::ReadAlias).await?;
        let answer = {
            let mut st = self.lock();
            st.begin(Op::ReadAlias)?;
            let (name, f) = st.function(function)?;
            f.aliases
                .get(alias)
                .map(|a| a.state())
                .ok_or_else(|| alias_not_found(name, alias))?
        };
        self.change_after_read(function, alias);
        Ok(answer)
    }

    /// UpdateAlias, fenced on RevisionId: not found, then a stale RevisionId, then AWS's routing rules.
    async fn write_alias(
        &self,
        function: &str,
        alias: &str,
        routing: &Routing,
        revision_id: &str,
    ) -> Result<AliasState> {
        self.admit(Op::WriteAlias).await?;
        let mut st = self.lock();
        st.begin(Op::WriteAlias)?;
        let (name, f) = st.function(function)?;
        let name = name.to_string();
        let current = f
            .aliases
            .get(alias)
            .ok_or_else(|| alias_not_found(&name, alias))?;
        if current.revision_id != revision_id {
            return Err(Error::AliasChanged {
                alias: alias.to_string(),
                message: format!(
                    "The Revision Id provided ({revision_id}) does not match the latest Revision Id ({}). \
                     Call the GetAlias API to retrieve the latest Revision Id",
                    current.revision_id
                ),
            });
        }
        f.check_routing(routing, false)?;
        let revision = st.next_revision();
        let a = st
            .functions
            .get_mut(&name)
            .and_then(|f| f.aliases.get_mut(alias))
            .expect("checked above, under the same lock");
        a.set(routing.clone(), revision, ChangeSource::UpdateAlias);
        let state = a.state();
        st.answer()?;
        Ok(state)
    }
}

impl FunctionRegistry for FakeAws {
    async fn describe_function(&self, function: &str) -> Result<FunctionInfo> {
        self.admit(Op::DescribeFunction).await?;
        let mut st = self.lock();
        st.begin(Op::DescribeFunction)?;
        let (name, _) = st.function(function)?;
        Ok(FunctionInfo {
            name: name.to_string(),
            arn: function_arn(name),
        })
    }

    /// None for an unknown function too: GetFunctionConfiguration with a Qualifier answers ResourceNotFound
    /// for both, which is what the real adapter sees.
    async fn version_info(&self, function: &str, version: &str) -> Result<Option<VersionInfo>> {
        self.admit(Op::VersionInfo).await?;
        let mut st = self.lock();
        st.begin(Op::VersionInfo)?;
        let Ok((name, _)) = st.function(function) else {
            return Ok(None);
        };
        let name = name.to_string();
        Ok(st
            .functions
            .get_mut(&name)
            .and_then(|f| f.read_version_info(version)))
    }

    async fn publish_version(
        &self,
        function: &str,
        code_sha256: Option<&str>,
        description: &str,
    ) -> Result<String> {
        self.admit(Op::PublishVersion).await?;
        let mut st = self.lock();
        st.begin(Op::PublishVersion)?;
        let name = st.function(function)?.0.to_string();
        let f = st.functions.get_mut(&name).expect("resolved above");
        if let Some(sha) = code_sha256 {
            if sha != f.latest_code {
                return Err(Error::AwsRejected {
                    operation: "PublishVersion".to_string(),
                    message: format!(
                        "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). \
                         Please try again with the CodeSHA256 in $LATEST.",
                        f.latest_code
                    ),
                });
            }
        }
        let version = f.publish_if_changed(description);
        st.answer()?;
        Ok(version)
    }
}

impl AlarmSource for FakeAws {
    /// One DescribeAlarms call: the alarms that exist, sorted by name like AWS answers.
    async fn alarm_states(&self, names: &[String]) -> Result<Vec<AlarmStatus>> {
        let mut st = self.lock();
        let n = st.count(Op::AlarmStates);
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut st.scheduled)
            .into_iter()
            .partition(|s| s.at_call == n);
        st.scheduled = later;
        for s in due {
            st.set_alarm(&s.name, s.state);
        }
        st.injected(Op::AlarmStates)?;
        if names.len() > MAX_ALARM_NAMES {
            return Err(Error::AwsRejected {
                operation: "DescribeAlarms".to_string(),
                message: format!(
                    "{} alarm names given; AlarmNames takes at most {MAX_ALARM_NAMES}",
                    names.len()
                ),
            });
        }
        Ok(st
            .alarms
            .iter()
            .filter(|(name, _)| names.contains(name))
            .map(|(name, state)| AlarmStatus {
                name: name.clone(),
                state: *state,
                transitioned_ms: st.alarm_transitioned.get(name).copied(),
            })
            .collect())
    }

    /// DescribeAlarmHistory (StateUpdate items since `since_ms`): any change into ALARM.
    async fn fired_since(&self, name: &str, since_ms: u64) -> Result<bool> {
        let mut st = self.lock();
        st.begin(Op::AlarmHistory)?;
        Ok(st
            .alarm_log
            .iter()
            .any(|(n, at, state)| n == name && *at >= since_ms && *state == AlarmState::Alarm))
    }
}

impl CallerIdentity for FakeAws {
    async fn caller(&self) -> Result<Caller> {
        self.lock().begin(Op::Caller)?;
        Ok(Caller {
            partition: "aws".to_string(),
            region: super::REGION.to_string(),
            account: super::ACCOUNT_ID.to_string(),
        })
    }
}

impl HookInvoker for FakeAws {
    async fn invoke(&self, function: &str, payload: &[u8]) -> Result<HookReply> {
        let mut st = self.lock();
        st.begin(Op::Invoke)?;
        let behaviour = st.function(function)?.1.hook.clone();
        let recorded = serde_json::from_slice(payload).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(payload).into_owned())
        });
        st.hook_calls.push((function.to_string(), recorded));
        st.answer()?;
        let (function_error, body) = match behaviour {
            HookBehaviour::Succeed => (None, json!({"status": "Succeeded"}).to_string()),
            HookBehaviour::Fail(reason) => (
                None,
                json!({"status": "Failed", "reason": reason}).to_string(),
            ),
            HookBehaviour::FunctionError(message) => (
                Some("Unhandled".to_string()),
                json!({"errorType": "HookError", "errorMessage": message}).to_string(),
            ),
            HookBehaviour::Reply(bytes) => {
                return Ok(HookReply {
                    function_error: None,
                    payload: bytes,
                })
            }
        };
        Ok(HookReply {
            function_error,
            payload: body.into_bytes(),
        })
    }
}

impl Notifier for FakeAws {
    async fn publish(&self, topic_arn: &str, notification: &Notification) -> Result<()> {
        let mut st = self.lock();
        st.begin(Op::Publish)?;
        if !st.topics.contains(topic_arn) {
            return Err(Error::not_found(
                "",
                format!("Topic does not exist: {topic_arn}"),
            ));
        }
        st.notifications
            .push((topic_arn.to_string(), notification.clone()));
        st.answer()
    }
}
