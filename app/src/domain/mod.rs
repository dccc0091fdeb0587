//! The innermost layer, compiled for the server and the browser: validated values (each
//! can only be built through `parse`, so holding one means the value is valid) and the
//! plain types both sides share (plans, the one-shot flash, the console's and the billing
//! page's data, alert rules and their evaluation). It depends on nothing else in the
//! crate; `server` builds on it, `api` maps both to server functions.

pub mod alert_channel;
pub mod alerts;
pub mod audit;
pub mod billing;
pub mod chart;
pub mod console;
pub mod digest;
pub mod email;
pub mod exported_labels;
pub mod flash;
pub mod history;
pub mod ids;
pub mod jmes_path;
pub mod json_pick;
pub mod next_path;
pub mod outbox;
pub mod password;
pub mod permission;
pub mod plan;
pub mod preview;
pub mod provider_kind;
pub mod push;
pub mod role;
pub mod rule_form;
pub mod sink;
pub mod source_state;
pub mod streams;
pub mod token;
pub mod watch;

pub use alert_channel::ChannelKind;
#[cfg(feature = "ssr")]
pub use alert_channel::ChannelTarget;
pub use alerts::{
    AlertWindow, Condition, ConditionKind, Direction, Evaluation, Firing, Observation, RuleError,
    RuleSpec, RuleState,
};
pub use chart::{ChartMode, ChartRange, Scale};
pub use digest::DigestFrequency;
pub use email::Email;
pub use history::{BackfillState, BackfillStatus, Origin};
pub use ids::{
    AlertEventId, AlertRuleId, ChannelId, EmailId, MetricId, PushSourceId, SinkId, SourceId,
    TrackerId, UserId, WatchId, WorkspaceId,
};
pub use jmes_path::JmesPath;
pub use next_path::NextPath;
pub use outbox::{EmailKind, OutboxState};
pub use password::Password;
pub use permission::{Action, WorkspaceRole};
pub use plan::Plan;
pub use preview::Preview;
pub use provider_kind::ProviderKind;
pub use role::Role;
pub use sink::{SinkKind, SinkState};
pub use source_state::SourceState;
pub use token::{TokenName, TokenScope};
