//! Compact JWS: arbitrary text, and the signed tokens mutated. Only an
//! unchanged signed token is ever accepted; `decode` passes only headers the
//! reference accepts.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use scalekit_core::validate::DecodedJws;
use scalekit_core::{AccessTokenClaims, AlgorithmSet, verify_jws};
use scalekit_fuzz::{mutate, now_or_never, reference_header_ok, signed};

#[derive(Debug, Arbitrary)]
enum Input<'a> {
    Raw(&'a str),
    Mutated { which: bool, edits: Vec<(u16, u8)> },
    Spliced { header: &'a str, part: u8 },
}

fuzz_target!(|input: Input<'_>| {
    let s = signed();
    let token = match &input {
        Input::Raw(t) => (*t).to_owned(),
        Input::Mutated { which, edits } => mutate(&s.tokens[usize::from(*which)], edits),
        Input::Spliced { header, part } => {
            // A chosen header (base64url-encoded here) on a genuine payload
            // and signature.
            let [_, p, sig] = split(&s.tokens[0]);
            let h =
                base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header);
            match part % 3 {
                0 => format!("{h}.{p}.{sig}"),
                1 => format!("{h}.{p}."),
                _ => format!("{h}.{p}.{h}"),
            }
        }
    };
    let original = s.tokens.contains(&token);
    if let Ok(jws) = DecodedJws::decode(&token, AlgorithmSet::default(), 1 << 16) {
        let header = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            split(&token)[0],
        )
        .unwrap_or_default();
        assert!(reference_header_ok(&header), "header accepted: {header:?}");
        if let Some(key) = s.keys.find(jws.kid(), jws.algorithm()).cloned() {
            assert!(jws.verify(&key).is_err() || original, "verified: {token}");
        }
    }
    let _ = DecodedJws::decode(&token, AlgorithmSet::all(), 1 << 16);
    assert!(
        verify_jws(&token, &s.keys, AlgorithmSet::all()).is_err() || original,
        "{token}"
    );
    let validated = now_or_never(s.validator.validate::<AccessTokenClaims>(&token));
    assert!(validated.is_err() || original, "validated: {token}");
    if original {
        assert!(validated.is_ok());
    }
});

fn split(token: &str) -> [&str; 3] {
    let mut it = token.splitn(3, '.');
    [
        it.next().unwrap_or(""),
        it.next().unwrap_or(""),
        it.next().unwrap_or(""),
    ]
}
