//! Validated values shared by the server and the browser. Each type can only be built
//! through `parse`, so holding one means the value is valid.

pub mod email;
pub mod jmes_path;
pub mod json_pick;
pub mod next_path;
pub mod password;
pub mod role;
pub mod token;

pub use email::Email;
pub use jmes_path::JmesPath;
pub use next_path::NextPath;
pub use password::Password;
pub use role::Role;
pub use token::{TokenName, TokenScope};
