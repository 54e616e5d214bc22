//! The use cases. Each is a function generic over only the ports it needs, so both drivers (the state
//! machine's Lambda functions and `shifter deploy --local`) run exactly the same code.

pub mod abort;
mod check;
pub mod cleanup;
mod hook;
pub mod lease;
pub mod listen;
mod notify;
pub mod prepare;
mod rollback;
mod shift;

pub use check::{analyse, check, check_health, METRICS_ATTEMPTS};
pub use hook::{hook_event, interpret_hook_reply, run_hook, HookEvent, HookVerdict};
pub use notify::notify;
pub use prepare::prepare;
pub use rollback::{
    could_have_written, left_alone_message, restore_main, rollback, MainRestored, RollbackAction,
    RollbackEnd, RollbackOutcome,
};
pub use shift::{finalize, shift_traffic};

#[cfg(test)]
mod lease_tests;
#[cfg(test)]
mod listen_tests;
#[cfg(test)]
mod ownership_tests;
#[cfg(test)]
mod prepare_tests;
#[cfg(test)]
mod tests;
