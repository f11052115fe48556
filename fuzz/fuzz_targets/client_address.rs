#![no_main]
//! Fuzz target `client_address`: see `checks::client_address`.

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::client_address(data));
