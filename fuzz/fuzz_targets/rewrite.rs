#![no_main]
//! Fuzz target `rewrite`: see `checks::rewrite`.

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::rewrite(data));
