#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| { let _ = grantd::domain::parse_form(data); });
