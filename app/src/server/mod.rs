//! Server-side code of the app (feature `ssr`): never compiled to wasm.

pub mod state;
