#![no_main]
//! Fuzz target `form_body`: see `checks::form_body`.

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::form_body(data));
