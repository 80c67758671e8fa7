//! JWKS documents: arbitrary bytes, and the real JWKS mutated. A document
//! is only read when it is a JSON object with a `keys` array, every key is
//! accepted or rejected, and the genuine token verifies only when its key
//! material is intact.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use scalekit_core::{AlgorithmSet, KeySet, verify_jws};
use scalekit_fuzz::{mutate, signed};
use serde_json::Value;

#[derive(Debug, Arbitrary)]
enum Input<'a> {
    Raw(&'a [u8]),
    Mutated(Vec<(u16, u8)>),
}

fuzz_target!(|input: Input<'_>| {
    let s = signed();
    let bytes = match &input {
        Input::Raw(b) => b.to_vec(),
        Input::Mutated(edits) => mutate(&s.jwks.to_string(), edits).into_bytes(),
    };
    let Ok(set) = KeySet::from_jwks_json(&bytes) else {
        return;
    };
    let doc: Value = serde_json::from_slice(&bytes).expect("read as JSON");
    let keys = doc
        .as_object()
        .and_then(|o| o.get("keys"))
        .and_then(Value::as_array)
        .expect("a JSON object with a keys array");
    assert_eq!(set.len() + set.rejected().len(), keys.len());
    for kid in set.kids() {
        let holders = keys
            .iter()
            .filter(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
            .count();
        assert_eq!(holders, 1, "{kid}");
    }
    if verify_jws(&s.tokens[0], &set, AlgorithmSet::default()).is_ok() {
        let original = &s.jwks["keys"][0];
        let key = keys
            .iter()
            .find(|k| k.get("kid").and_then(Value::as_str) == Some("rsa-1"))
            .expect("the signer's kid");
        for field in ["n", "e"] {
            let strip = |v: &Value| {
                let b = base64::Engine::decode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    v[field].as_str().unwrap_or(""),
                )
                .unwrap_or_default();
                b.into_iter().skip_while(|x| *x == 0).collect::<Vec<u8>>()
            };
            assert_eq!(strip(key), strip(original), "{field} substituted");
        }
    }
});
