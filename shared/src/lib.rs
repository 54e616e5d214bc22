//! shifter's core: the rollout plan and health verdicts (pure), the use cases (generic over small ports), the
//! AWS adapters that implement the ports, and an in-memory fake of AWS that enforces its alias rules.

pub mod analysis;
pub mod aws;
pub mod custom_resource;
pub mod domain;
pub mod driver;
pub mod error;
pub mod fake;
pub mod health;
pub mod hook_scope;
pub mod notification;
pub mod plan;
pub mod ports;
pub mod registry;
pub mod request;
pub mod retry;
pub mod rollout;
pub mod state;
pub mod text;
pub mod time;
pub mod usecase;

pub use error::{Error, Result};
