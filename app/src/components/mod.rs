//! UI pieces shared by several pages.

pub mod demo_chart;
pub mod form;
pub mod layout;
pub mod polls;
