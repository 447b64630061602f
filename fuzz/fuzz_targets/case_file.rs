//! The case_file invariants of `rxguide::fuzz` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rxguide::fuzz::case_file(data));
