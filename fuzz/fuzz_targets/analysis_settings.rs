//! The request's `analysis` settings: `AnalysisSettings::from_value`. Rejections are `InvalidRequest` under
//! `analysis`; accepted settings give a finite extension for any valid plan.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shifter::analysis::settings::AnalysisSettings;
use shifter::plan::Strategy;

mod common;

fuzz_target!(|data: &[u8]| {
    let Some(value) = common::json(data) else {
        return;
    };
    let value = value.get("analysis").cloned().unwrap_or(value);
    match AnalysisSettings::from_value(&value) {
        Err(e) => common::invalid_request(&e, "analysis"),
        Ok(settings) => {
            let plan = Strategy::from_json(&serde_json::json!("Linear10PercentEvery1Minute"))
                .and_then(|s| s.plan())
                .expect("a preset plans");
            let _ = settings.longest_extension_seconds(&plan);
        }
    }
});
