#![no_main]
//! Fuzz target `url_matcher`: see `checks::url_matcher`.

#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::url_matcher(data));
