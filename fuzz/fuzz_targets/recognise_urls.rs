//! URL recognition of every provider and every watch container: any text a user pastes.
#![no_main]

use std::sync::LazyLock;

use app::server::tracking::{Engine, TrackingConfig};
use libfuzzer_sys::fuzz_target;

static ENGINE: LazyLock<Option<Engine>> =
    LazyLock::new(|| Engine::new(TrackingConfig::default()).ok());

fuzz_target!(|text: &str| {
    if let Some(engine) = ENGINE.as_ref() {
        let _ = engine.recognise(text);
        let _ = engine.recognise_container(text);
    }
});
