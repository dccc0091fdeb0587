//! Alerts: a workspace's channels (where alerts go), the rules of its trackers' metrics
//! (when to tell), the events rules fire and their deliveries, one per channel.

pub mod channels;
pub mod deliver;
pub mod deliveries;
pub mod evaluate;
pub mod events;
pub mod rules;
pub mod silence;
mod updates;
