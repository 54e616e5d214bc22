//! The custom-resource provider's ports over the fake: CreateAlias and DeleteAlias with Lambda's rules,
//! StartExecution with Step Functions' unique names, the answer ledger, and the answers' PUTs.

use serde_json::Value;

use super::state::Alias;
use super::{ChangeSource, FakeAws, Op};
use crate::custom_resource::ports::{
    AliasLifecycle, ReplyLedger, ReplySender, RolloutStarter, Started,
};
use crate::domain::{AliasState, Routing};
use crate::error::{Error, Result};

impl AliasLifecycle for FakeAws {
    async fn create_alias(&self, function: &str, alias: &str, version: &str) -> Result<AliasState> {
        self.admit(Op::CreateAlias).await?;
        let mut st = self.lock();
        st.begin(Op::CreateAlias)?;
        let (name, f) = st.function(function)?;
        let name = name.to_string();
        if f.aliases.contains_key(alias) {
            return Err(Error::AliasBusy {
                alias: format!("{name}:{alias}"),
                message: "Alias already exists (ResourceConflictException)".into(),
            });
        }
        f.check_routing(&Routing::single(version), true)?;
        let revision = st.next_revision();
        let f = st.functions.get_mut(&name).expect("checked above");
        let created = Alias::new(Routing::single(version), revision, ChangeSource::Created);
        let state = created.state();
        f.aliases.insert(alias.to_string(), created);
        Ok(state)
    }

    async fn delete_alias(&self, function: &str, alias: &str) -> Result<bool> {
        self.admit(Op::DeleteAlias).await?;
        let mut st = self.lock();
        st.begin(Op::DeleteAlias)?;
        let (name, _) = st.function(function)?;
        let name = name.to_string();
        Ok(st
            .functions
            .get_mut(&name)
            .and_then(|f| f.aliases.remove(alias))
            .is_some())
    }
}

impl RolloutStarter for FakeAws {
    async fn start_rollout(&self, name: &str, input: &Value) -> Result<Started> {
        let mut st = self.lock();
        st.begin(Op::StartExecution)?;
        if st.started.iter().any(|(n, _)| n == name) {
            return Ok(Started::Existing);
        }
        st.started.push((name.to_string(), input.clone()));
        Ok(Started::New {
            execution_arn: format!(
                "arn:aws:states:{}:{}:execution:shifter:{name}",
                super::REGION,
                super::ACCOUNT_ID
            ),
        })
    }
}

impl ReplyLedger for FakeAws {
    async fn claim_reply(&self, request_id: &str, body: &str) -> Result<String> {
        let mut st = self.lock();
        st.begin(Op::ReplyLedger)?;
        Ok(st
            .replies
            .entry(request_id.to_string())
            .or_insert_with(|| body.to_string())
            .clone())
    }
}

impl ReplySender for FakeAws {
    async fn put_reply(&self, url: &str, body: &str) -> Result<()> {
        let mut st = self.lock();
        st.begin(Op::PutReply)?;
        st.reply_puts.push((url.to_string(), body.to_string()));
        Ok(())
    }
}

impl FakeAws {
    /// Every answer PUT so far: (url, body), in order.
    pub fn reply_puts(&self) -> Vec<(String, String)> {
        self.lock().reply_puts.clone()
    }

    /// Every execution the provider started: (name, input), in order.
    pub fn started_rollouts(&self) -> Vec<(String, Value)> {
        self.lock().started.clone()
    }

    /// Whether the alias exists.
    pub fn has_alias(&self, function: &str, alias: &str) -> bool {
        self.lock()
            .functions
            .get(function)
            .is_some_and(|f| f.aliases.contains_key(alias))
    }
}
