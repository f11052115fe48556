#![no_main]
//! Fuzz target `consent_cookie`: see `checks::consent_cookie`.

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::consent_cookie(data));
