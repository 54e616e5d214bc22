//! The registry over the fake's state, with DynamoDB's conditional-write rules: a lease is taken only when
//! free, already the caller's, or the named stale holder's; a release deletes only the caller's lease. TTL is
//! data: finished records keep their `expires` time and never vanish.

use super::{FakeAws, Op};
use crate::error::Result;
use crate::registry::control::{
    Answer, Delivery, LeaseKey, RolloutControl, Signal, TaskCallback, Waiting,
};
use crate::registry::{
    Acquired, ExecutionStatus, Lease, LeaseStore, RolloutJournal, RolloutRecord, RolloutStatus,
};

impl LeaseStore for FakeAws {
    async fn acquire(&self, lease: &Lease, take_over: Option<&str>) -> Result<Acquired> {
        let mut st = self.lock();
        st.begin(Op::Lease)?;
        let key = (lease.function_name.clone(), lease.alias.clone());
        match st.leases.get(&key) {
            Some(held)
                if held.rollout_id != lease.rollout_id
                    && Some(held.rollout_id.as_str()) != take_over =>
            {
                Ok(Acquired::HeldBy(Box::new(held.clone())))
            }
            _ => {
                st.leases.insert(key, lease.clone());
                st.answer()?;
                Ok(Acquired::Taken)
            }
        }
    }

    async fn release(&self, function: &str, alias: &str, rollout_id: &str) -> Result<()> {
        let mut st = self.lock();
        st.begin(Op::Lease)?;
        let key = (function.to_string(), alias.to_string());
        if st
            .leases
            .get(&key)
            .is_some_and(|l| l.rollout_id == rollout_id)
        {
            st.leases.remove(&key);
        }
        st.answer()
    }
}

impl RolloutJournal for FakeAws {
    async fn record(&self, record: &RolloutRecord) -> Result<()> {
        let mut st = self.lock();
        st.begin(Op::Journal)?;
        st.records.insert(record.rollout_id.clone(), record.clone());
        Ok(())
    }

    async fn running(&self) -> Result<Vec<RolloutRecord>> {
        let mut st = self.lock();
        st.begin(Op::Journal)?;
        let mut out: Vec<_> = st
            .records
            .values()
            .filter(|r| r.status == RolloutStatus::Running)
            .cloned()
            .collect();
        out.sort_by_key(|r| (r.started_ms, r.rollout_id.clone()));
        Ok(out)
    }

    async fn history(
        &self,
        function: &str,
        alias: &str,
        limit: usize,
    ) -> Result<Vec<RolloutRecord>> {
        let mut st = self.lock();
        st.begin(Op::Journal)?;
        let mut out: Vec<_> = st
            .records
            .values()
            .filter(|r| r.function_name == function && r.alias == alias)
            .cloned()
            .collect();
        out.sort_by_key(|r| std::cmp::Reverse(r.started_ms));
        out.truncate(limit);
        Ok(out)
    }
}

impl ExecutionStatus for FakeAws {
    /// Unknown executions do not run (DescribeExecution's ExecutionDoesNotExist).
    async fn is_running(&self, execution_arn: &str) -> Result<bool> {
        let mut st = self.lock();
        st.begin(Op::DescribeExecution)?;
        Ok(st.executions.get(execution_arn).copied().unwrap_or(false))
    }
}

/// DynamoDB's conditional update: only the lease `key.rollout_id` holds is changed.
fn held<'a>(
    leases: &'a mut std::collections::BTreeMap<(String, String), Lease>,
    key: &LeaseKey,
) -> Option<&'a mut Lease> {
    leases
        .get_mut(&(key.function.clone(), key.alias.clone()))
        .filter(|l| l.rollout_id == key.rollout_id)
}

impl RolloutControl for FakeAws {
    async fn wait_for(&self, key: &LeaseKey, waiting: &Waiting) -> Result<Option<Lease>> {
        let mut st = self.lock();
        st.begin(Op::Control)?;
        Ok(held(&mut st.leases, key).map(|lease| {
            lease.waiting = Some(waiting.clone());
            lease.clone()
        }))
    }

    async fn post(&self, key: &LeaseKey, signal: &Signal) -> Result<Option<Lease>> {
        let mut st = self.lock();
        st.begin(Op::Control)?;
        Ok(held(&mut st.leases, key).map(|lease| {
            match signal {
                Signal::Command(command, at) => {
                    lease.command = Some(command.clone());
                    lease.command_ms = Some(*at);
                }
                Signal::Alarm(seen) => lease.alarm = Some(seen.clone()),
            }
            lease.clone()
        }))
    }

    async fn check_in(&self, key: &LeaseKey, at_ms: u64) -> Result<Option<Lease>> {
        let mut st = self.lock();
        st.begin(Op::Control)?;
        Ok(held(&mut st.leases, key).map(|lease| {
            lease.checked_in_ms = Some(at_ms);
            lease.clone()
        }))
    }

    async fn lease_of(&self, function: &str, alias: &str) -> Result<Option<Lease>> {
        let mut st = self.lock();
        st.begin(Op::Control)?;
        Ok(st
            .leases
            .get(&(function.to_string(), alias.to_string()))
            .cloned())
    }
}

impl TaskCallback for FakeAws {
    /// Step Functions' rules: a token is answered once; later answers find it finished (`InvalidToken` or
    /// `TaskTimedOut`), as do unknown tokens.
    async fn answer(&self, token: &str, answer: &Answer) -> Result<Delivery> {
        let mut st = self.lock();
        st.begin(Op::TaskCallback)?;
        match st.tokens.get_mut(token) {
            Some(slot @ None) => {
                *slot = Some(answer.clone());
                Ok(Delivery::Delivered)
            }
            _ => Ok(Delivery::AlreadyFinished),
        }
    }
}

impl FakeAws {
    /// A task token the state machine waits on (what `waitForTaskToken` hands the Bake function).
    pub fn open_token(&self, token: &str) -> &Self {
        self.lock().tokens.insert(token.to_string(), None);
        self
    }

    /// A token ending without an answer (its task timed out: the bake is over).
    pub fn time_out_token(&self, token: &str) -> &Self {
        self.lock().tokens.remove(token);
        self
    }

    /// How a token was answered: `None` while it waits (or if it is unknown).
    pub fn token_answer(&self, token: &str) -> Option<Answer> {
        self.lock().tokens.get(token).cloned().flatten()
    }

    /// Whether an execution runs, for the lease's takeover check.
    pub fn set_execution(&self, execution_arn: &str, running: bool) -> &Self {
        self.lock()
            .executions
            .insert(execution_arn.to_string(), running);
        self
    }

    /// The alias's lease, if held.
    pub fn lease(&self, function: &str, alias: &str) -> Option<Lease> {
        self.lock()
            .leases
            .get(&(function.to_string(), alias.to_string()))
            .cloned()
    }

    /// A lease held by someone else (another rollout, set up by the test).
    pub fn put_lease(&self, lease: Lease) -> &Self {
        self.lock()
            .leases
            .insert((lease.function_name.clone(), lease.alias.clone()), lease);
        self
    }

    /// The record of a rollout, if any.
    pub fn record_of(&self, rollout_id: &str) -> Option<RolloutRecord> {
        self.lock().records.get(rollout_id).cloned()
    }
}
