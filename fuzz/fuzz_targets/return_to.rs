//! `safe_return_to` / `safe_return_target`: only same-site paths pass, and
//! the header form is ASCII and a valid header value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalekit_core::oauth::{safe_return_target, safe_return_to};

fuzz_target!(|target: &str| {
    let safe = safe_return_to(target);
    let header = safe_return_target(target);
    assert_eq!(safe.is_some(), header.is_some());
    let Some(safe) = safe else { return };
    assert_eq!(safe, target);
    let base = url::Url::parse("https://app.example/").expect("base");
    let decoded = percent_encoding::percent_decode_str(safe)
        .decode_utf8()
        .expect("UTF-8 once decoded");
    for form in [safe, &*decoded] {
        assert!(form.starts_with('/') && !form.starts_with("//"), "{form:?}");
        assert!(
            !form.contains('\\') && !form.chars().any(char::is_control),
            "{form:?}"
        );
        let resolved = base.join(form).expect("resolves");
        assert_eq!(resolved.scheme(), "https");
        assert_eq!(resolved.host_str(), Some("app.example"), "{form:?}");
        assert_eq!(resolved.port(), None);
        assert_eq!(resolved.username(), "");
    }
    let header = header.expect("safe");
    assert!(header.is_ascii());
    assert!(http::HeaderValue::from_str(&header).is_ok(), "{header:?}");
    // Percent-encoding can take the header form past the length limit.
    if header.len() <= scalekit_core::oauth::MAX_RETURN_TO_LEN {
        assert_eq!(safe_return_to(&header), Some(header.as_str()));
    }
});
