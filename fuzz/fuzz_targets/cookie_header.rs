//! `RequestCookies::parse`: never panics, reads what the reference reads,
//! and returns names and values borrowed from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalekit_core::session::RequestCookies;
use scalekit_fuzz::reference_cookies;

fuzz_target!(|input: &str| {
    let headers: Vec<&str> = input.split('\n').collect();
    let cookies = RequestCookies::parse(headers.iter().copied());
    let reference = reference_cookies(&headers);
    let inside = |part: &str| {
        let p = part.as_ptr() as usize;
        let start = input.as_ptr() as usize;
        p >= start && p + part.len() <= start + input.len()
    };
    for (name, _) in &reference {
        let expected = reference
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let got = cookies.get(name);
        assert_eq!(got, expected, "{name:?}");
        assert!(got.is_none_or(inside));
        for n in cookies.family(name) {
            assert!(inside(n), "{n:?} is not from the input");
            assert!(
                n == name
                    || n.strip_prefix(name.as_str())
                        .is_some_and(|r| r.starts_with('.'))
            );
        }
    }
});
