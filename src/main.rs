//! The `consentgate` command line (filled in by the foundation issue).
fn main() {}
