//! UI pieces shared by several pages.

pub mod add_tracker;
pub mod catalogue;
pub mod demo_chart;
#[cfg(feature = "hydrate")]
pub mod echarts;
pub mod feedback;
pub mod form;
pub mod layout;
pub mod polls;
pub mod push_source;
pub mod table;
