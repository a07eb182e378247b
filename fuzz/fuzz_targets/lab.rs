//! Lab-file text → parse and validate → plan → everything a plan is printed as. Nothing may
//! panic, and nothing may take unbounded time or memory (libFuzzer's -rss_limit_mb and
//! -timeout catch those). Seeded with labs/*.toml.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lab = match nsnet_lab::Lab::from_toml(text, "fuzz.toml", Some("fuzz"), None) {
        Ok(lab) => lab,
        Err(errors) => {
            let _ = errors.to_string();
            return;
        }
    };
    match nsnet_lab::plan(&lab) {
        Ok(plan) => {
            let _ = plan.hosts_file();
            let _ = serde_json::to_vec(&plan).expect("a plan serializes");
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
