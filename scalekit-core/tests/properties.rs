//! Property tests of the parsers that take attacker input (issue 8, item 9):
//! compact JWS and claims, JWKS documents, sealed cookies and their chunks,
//! webhook signature headers, return targets and `Cookie` headers.
//!
//! Each property is checked against a reference rule written here, apart
//! from the library: besides "no panic", an input is only ever accepted
//! when the reference accepts it. Inputs are random, and also real values
//! (signed tokens, real JWKS, sealed cookies, signed deliveries) mutated.
//!
//! `cargo test` runs 256 cases per property (proptest's default; the
//! environment variable `PROPTEST_CASES` changes it); `scripts/fuzz` runs
//! the long campaign (see `fuzz/README.md`).

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

/// proptest's configuration: 256 cases per property unless the environment
/// variable `PROPTEST_CASES` says otherwise (proptest reads it).
fn config() -> ProptestConfig {
    ProptestConfig::default()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `part` lies inside one of `inputs` (a borrowed slice of it).
fn borrowed_from(part: &str, inputs: &[String]) -> bool {
    let p = part.as_ptr() as usize;
    inputs.iter().any(|s| {
        let start = s.as_ptr() as usize;
        p >= start && p + part.len() <= start + s.len()
    })
}

// ---------------------------------------------------------------------------
// Text mutations shared by the targets.
// ---------------------------------------------------------------------------

const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// One edit of a string, positions given as proptest indices.
#[derive(Debug, Clone)]
enum Edit {
    Replace(Index, char),
    Insert(Index, char),
    Delete(Index),
    Truncate(Index),
    Swap(Index, Index),
    Duplicate(Index, Index),
}

fn mutation_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => select(B64URL.chars().collect::<Vec<_>>()),
        3 => select(vec![
            '.', '=', '+', '/', ' ', '\t', '"', ';', ',', '%', '\\', '\0', '\n', '\r', 'é',
            '\u{85}', '\u{a0}', '\u{feff}', '\u{3000}', '\u{10ffff}',
        ]),
        1 => any::<char>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        6 => (any::<Index>(), mutation_char()).prop_map(|(i, c)| Edit::Replace(i, c)),
        2 => (any::<Index>(), mutation_char()).prop_map(|(i, c)| Edit::Insert(i, c)),
        2 => any::<Index>().prop_map(Edit::Delete),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::Duplicate(a, b)),
    ]
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(edit(), 1..4)
}

fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let len = chars.len();
        match edit {
            Edit::Replace(i, c) if len > 0 => chars[i.index(len)] = *c,
            Edit::Insert(i, c) => chars.insert(i.index(len + 1), *c),
            Edit::Delete(i) if len > 0 => {
                chars.remove(i.index(len));
            }
            Edit::Truncate(i) => chars.truncate(i.index(len + 1)),
            Edit::Swap(a, b) if len > 0 => chars.swap(a.index(len), b.index(len)),
            Edit::Duplicate(a, b) if len > 0 => {
                let start = a.index(len);
                let end = start + 1 + b.index(len - start).min(63);
                let copy: Vec<char> = chars[start..end].to_vec();
                chars.splice(end..end, copy);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// Flips bits of `bytes`: `(position, xor mask)` pairs (a zero mask is a
/// no-op, which the properties must then accept as such).
fn flip_bits(bytes: &mut [u8], flips: &[(Index, u8)]) {
    if bytes.is_empty() {
        return;
    }
    for (i, mask) in flips {
        let i = i.index(bytes.len());
        bytes[i] ^= mask;
    }
}

/// Changes the unused low bits of the last character of an unpadded
/// base64url text (a non-canonical encoding of the same bytes), if it has
/// unused bits.
fn non_canonical_tail(text: &str, bits: u8) -> String {
    let unused = match text.len() % 4 {
        2 => 4,
        3 => 2,
        _ => return text.to_owned(),
    };
    let Some(last) = text.chars().last() else {
        return text.to_owned();
    };
    let value = B64URL.find(last).expect("base64url") as u8;
    let mask = (1u8 << unused) - 1;
    let bits = bits & mask;
    let changed = B64URL.as_bytes()[usize::from(value ^ bits)] as char;
    let mut out = text[..text.len() - 1].to_owned();
    out.push(changed);
    out
}

// ---------------------------------------------------------------------------
// Arbitrary JSON.
// ---------------------------------------------------------------------------

fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        select(vec![
            "RS256", "RS384", "PS256", "ES256", "EdDSA", "HS256", "none", "RSA", "EC", "OKP",
            "oct", "sig", "enc", "verify", "P-256", "Ed25519", "",
        ])
        .prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_scalar().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

// ===========================================================================
// 1. Compact JWS and claims.
// ===========================================================================

const ISSUER: &str = "https://env.example";
const AUDIENCE: &str = "api";

/// The signing keys of the JWS properties, their JWKS and a pool of signed
/// tokens.
struct Signers {
    rsa1: RsaKeyPair,
    rsa2: RsaKeyPair,
    ed: Ed25519KeyPair,
    ec: EcdsaKeyPair,
    jwks: Value,
    keys: scalekit_core::KeySet,
    pool: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signer {
    Rsa1,
    Rsa2,
    Ed,
    Ec,
}

impl Signer {
    fn kid(self) -> &'static str {
        match self {
            Signer::Rsa1 => "rsa-1",
            Signer::Rsa2 => "rsa-2",
            Signer::Ed => "ed-1",
            Signer::Ec => "ec-1",
        }
    }
    fn alg(self) -> &'static str {
        match self {
            Signer::Rsa1 | Signer::Rsa2 => "RS256",
            Signer::Ed => "EdDSA",
            Signer::Ec => "ES256",
        }
    }
}

fn signer() -> impl Strategy<Value = Signer> {
    select(vec![Signer::Rsa1, Signer::Rsa2, Signer::Ed, Signer::Ec])
}

fn algorithms() -> scalekit_core::AlgorithmSet {
    use scalekit_core::Algorithm;
    scalekit_core::AlgorithmSet::from_iter([Algorithm::RS256, Algorithm::EdDSA, Algorithm::ES256])
}

fn rsa_jwk(pair: &RsaKeyPair, kid: &str) -> Value {
    let public = pair.public_key();
    json!({
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
        "n": b64(public.modulus().big_endian_without_leading_zero()),
        "e": b64(public.exponent().big_endian_without_leading_zero()),
    })
}

fn signers() -> &'static Signers {
    static SIGNERS: OnceLock<Signers> = OnceLock::new();
    SIGNERS.get_or_init(|| {
        let rsa1 = RsaKeyPair::generate(KeySize::Rsa2048).expect("rsa");
        let rsa2 = RsaKeyPair::generate(KeySize::Rsa2048).expect("rsa");
        let ed = Ed25519KeyPair::generate().expect("ed25519");
        let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("p-256");
        let point = ec.public_key().as_ref().to_vec();
        let jwks = json!({"keys": [
            rsa_jwk(&rsa1, Signer::Rsa1.kid()),
            rsa_jwk(&rsa2, Signer::Rsa2.kid()),
            {"kty": "OKP", "crv": "Ed25519", "kid": Signer::Ed.kid(), "x": b64(ed.public_key().as_ref())},
            {"kty": "EC", "crv": "P-256", "kid": Signer::Ec.kid(), "use": "sig",
             "x": b64(&point[1..33]), "y": b64(&point[33..65])},
        ]});
        let keys = scalekit_core::KeySet::from_jwks_json(jwks.to_string().as_bytes()).expect("jwks");
        assert_eq!(keys.len(), 4, "{:?}", keys.rejected());
        let mut signers = Signers {
            rsa1,
            rsa2,
            ed,
            ec,
            jwks,
            keys,
            pool: Vec::new(),
        };
        let t = now();
        let mut pool = Vec::new();
        for (i, who) in [Signer::Rsa1, Signer::Rsa2, Signer::Ed, Signer::Ec]
            .into_iter()
            .cycle()
            .take(16)
            .enumerate()
        {
            let claims = json!({
                "iss": ISSUER, "aud": [AUDIENCE], "sub": format!("usr_{i}"),
                "exp": t + 24 * 3600, "iat": t, "scope": "read write",
            });
            pool.push(signers.sign_json(who, &json!({}), &claims));
        }
        signers.pool = pool;
        signers
    })
}

impl Signers {
    fn signature(&self, who: Signer, message: &[u8]) -> Vec<u8> {
        match who {
            Signer::Rsa1 | Signer::Rsa2 => {
                let pair = if who == Signer::Rsa1 {
                    &self.rsa1
                } else {
                    &self.rsa2
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
                    .expect("sign");
                sig
            }
            Signer::Ed => self.ed.sign(message).as_ref().to_vec(),
            Signer::Ec => self
                .ec
                .sign(&SystemRandom::new(), message)
                .expect("sign")
                .as_ref()
                .to_vec(),
        }
    }

    /// Signs raw header and payload bytes (base64url-encoded here).
    fn sign_raw(&self, who: Signer, header: &[u8], payload: &[u8]) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let sig = self.signature(who, input.as_bytes());
        format!("{input}.{}", b64(sig))
    }

    /// Signs `claims` with a header holding the signer's `alg` and `kid`
    /// plus the fields of `extra`.
    fn sign_json(&self, who: Signer, extra: &Value, claims: &Value) -> String {
        let mut header = json!({"alg": who.alg(), "kid": who.kid(), "typ": "JWT"});
        if let (Some(h), Some(e)) = (header.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                h.insert(k.clone(), v.clone());
            }
        }
        self.sign_raw(
            who,
            header.to_string().as_bytes(),
            claims.to_string().as_bytes(),
        )
    }
}

fn options(
    purpose: scalekit_core::TokenPurpose,
    check_audience: bool,
) -> scalekit_core::ValidationOptions {
    let options = scalekit_core::ValidationOptions::new(ISSUER)
        .algorithms(algorithms())
        .purpose(purpose);
    if check_audience {
        options.audience(AUDIENCE)
    } else {
        options.any_audience()
    }
}

fn validator() -> &'static scalekit_core::TokenValidator {
    static V: OnceLock<scalekit_core::TokenValidator> = OnceLock::new();
    V.get_or_init(|| {
        scalekit_core::TokenValidator::new(
            signers().keys.clone(),
            options(scalekit_core::TokenPurpose::Access, true),
        )
    })
}

/// A validator remembering verified tokens: the pool is validated once, so
/// that mutated tokens meet a warm cache.
fn cached_validator() -> &'static scalekit_core::TokenValidator {
    static V: OnceLock<scalekit_core::TokenValidator> = OnceLock::new();
    V.get_or_init(|| {
        let v = scalekit_core::TokenValidator::new(
            scalekit_core::KeySource::Static(std::sync::Arc::new(signers().keys.clone())),
            options(scalekit_core::TokenPurpose::Access, true),
        )
        .with_verified_cache(1000, Duration::from_secs(3600));
        for token in &signers().pool {
            runtime()
                .block_on(v.validate::<Value>(token))
                .expect("pool token");
        }
        v
    })
}

fn signing_input(token: &str) -> &str {
    token.rsplit_once('.').map_or(token, |(input, _)| input)
}

/// A change of a JSON object: set `field` to `value`, or remove it.
#[derive(Debug, Clone)]
struct JsonEdit {
    field: &'static str,
    value: Option<Value>,
}

fn json_edits(fields: Vec<&'static str>) -> impl Strategy<Value = Vec<JsonEdit>> {
    proptest::collection::vec(
        (
            select(fields),
            proptest::option::weighted(0.8, json_value()),
        )
            .prop_map(|(field, value)| JsonEdit { field, value }),
        1..3,
    )
}

fn apply_json_edits(text: &[u8], edits: &[JsonEdit]) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(text).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        for edit in edits {
            match &edit.value {
                Some(v) => {
                    map.insert(edit.field.to_owned(), v.clone());
                }
                None => {
                    map.remove(edit.field);
                }
            }
        }
    }
    value.to_string().into_bytes()
}

/// How a token of the pool is mutated.
#[derive(Debug, Clone)]
enum TokenMutation {
    /// Character edits anywhere in the compact form.
    Text(Vec<Edit>),
    /// Header fields changed (re-encoded; payload and signature kept).
    Header(Vec<JsonEdit>),
    /// Claims changed (re-encoded; header and signature kept).
    Payload(Vec<JsonEdit>),
    /// Bits of the decoded signature flipped.
    SignatureBits(Vec<(Index, u8)>),
    /// Signature bytes added (zeros in front, or garbage behind) or dropped.
    SignatureLength(i8),
    /// Non-canonical base64url for one part (same bytes, other text).
    NonCanonical(u8, u8),
    /// Parts taken from the other token.
    Splice(u8),
    /// The same JSON, re-serialized with spaces (same claims, other bytes).
    Reformat(bool),
    /// Base64 with padding or the standard alphabet for one part.
    Alphabet(u8),
}

fn token_mutation() -> impl Strategy<Value = TokenMutation> {
    prop_oneof![
        6 => edits().prop_map(TokenMutation::Text),
        3 => json_edits(vec!["alg", "kid", "typ", "crit", "jku", "jwk", "x5u", "b64", "zip"])
            .prop_map(TokenMutation::Header),
        3 => json_edits(vec![
            "iss", "aud", "exp", "nbf", "sub", "nonce", "azp", "client_id", "at_hash", "scope",
        ])
        .prop_map(TokenMutation::Payload),
        2 => proptest::collection::vec((any::<Index>(), any::<u8>()), 1..4)
            .prop_map(TokenMutation::SignatureBits),
        1 => any::<i8>().prop_map(TokenMutation::SignatureLength),
        1 => (0u8..3, 1u8..16).prop_map(|(p, b)| TokenMutation::NonCanonical(p, b)),
        1 => (1u8..7).prop_map(TokenMutation::Splice),
        1 => any::<bool>().prop_map(TokenMutation::Reformat),
        1 => (0u8..6).prop_map(TokenMutation::Alphabet),
    ]
}

fn parts(token: &str) -> [String; 3] {
    let mut it = token.splitn(3, '.');
    let mut next = || it.next().unwrap_or("").to_owned();
    [next(), next(), next()]
}

fn apply_token_mutation(a: &str, b: &str, mutation: &TokenMutation) -> String {
    let [h, p, s] = parts(a);
    let decode = |x: &str| URL_SAFE_NO_PAD.decode(x).unwrap_or_default();
    match mutation {
        TokenMutation::Text(e) => apply_edits(a, e),
        TokenMutation::Header(e) => format!("{}.{p}.{s}", b64(apply_json_edits(&decode(&h), e))),
        TokenMutation::Payload(e) => format!("{h}.{}.{s}", b64(apply_json_edits(&decode(&p), e))),
        TokenMutation::SignatureBits(flips) => {
            let mut sig = decode(&s);
            flip_bits(&mut sig, flips);
            format!("{h}.{p}.{}", b64(sig))
        }
        TokenMutation::SignatureLength(n) => {
            let mut sig = decode(&s);
            match *n {
                0 => {}
                n if n > 0 => {
                    if n % 2 == 0 {
                        sig.splice(0..0, std::iter::repeat_n(0, n as usize));
                    } else {
                        sig.extend(std::iter::repeat_n(n as u8, n as usize));
                    }
                }
                n => sig.truncate(sig.len().saturating_sub(n.unsigned_abs() as usize)),
            }
            format!("{h}.{p}.{}", b64(sig))
        }
        TokenMutation::NonCanonical(part, bits) => match part {
            0 => format!("{}.{p}.{s}", non_canonical_tail(&h, *bits)),
            1 => format!("{h}.{}.{s}", non_canonical_tail(&p, *bits)),
            _ => format!("{h}.{p}.{}", non_canonical_tail(&s, *bits)),
        },
        TokenMutation::Splice(mask) => {
            let other = parts(b);
            let pick = |i: usize, mine: &str| {
                if mask & (1 << i) != 0 {
                    other[i].clone()
                } else {
                    mine.to_owned()
                }
            };
            format!("{}.{}.{}", pick(0, &h), pick(1, &p), pick(2, &s))
        }
        TokenMutation::Reformat(header) => {
            let pretty = |x: &str| {
                let v: Value = serde_json::from_slice(&decode(x)).unwrap_or(Value::Null);
                b64(serde_json::to_string_pretty(&v).unwrap_or_default())
            };
            if *header {
                format!("{}.{p}.{s}", pretty(&h))
            } else {
                format!("{h}.{}.{s}", pretty(&p))
            }
        }
        TokenMutation::Alphabet(which) => {
            let part = [&h, &p, &s][usize::from(*which % 3)];
            let bytes = decode(part);
            let encoded = if *which < 3 {
                base64::engine::general_purpose::URL_SAFE.encode(&bytes)
            } else {
                STANDARD.encode(&bytes)
            };
            match which % 3 {
                0 => format!("{encoded}.{p}.{s}"),
                1 => format!("{h}.{encoded}.{s}"),
                _ => format!("{h}.{p}.{encoded}"),
            }
        }
    }
}

/// Whether the library accepting `token` is allowed: it is one of the
/// signed originals, or (ECDSA only, whose signatures are randomized and
/// malleable) its signing input is byte-identical to an original's.
fn may_accept(token: &str, originals: &[&str]) -> bool {
    if originals.contains(&token) {
        return true;
    }
    let ecdsa = scalekit_core::validate::DecodedJws::decode(token, algorithms(), 1 << 20)
        .is_ok_and(|jws| jws.algorithm() == scalekit_core::Algorithm::ES256);
    ecdsa
        && originals
            .iter()
            .any(|o| signing_input(o) == signing_input(token))
}

/// What a reference reading of a JOSE header says: a JSON object whose
/// `alg` is a string on the allow-list, with no `crit` (null counts as
/// absent, as an optional member), and a string `kid` if any.
fn reference_header_ok(header: &[u8], allowed: &[&str]) -> bool {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(header) else {
        return false;
    };
    let alg_ok = map
        .get("alg")
        .and_then(Value::as_str)
        .is_some_and(|a| allowed.contains(&a));
    let crit_absent = map.get("crit").is_none_or(Value::is_null);
    let kid_ok = map.get("kid").is_none_or(|k| k.is_string() || k.is_null());
    alg_ok && crit_absent && kid_ok
}

proptest! {
    #![proptest_config(config())]

    /// Mutated signed tokens (header, claims, signature, encoding, parts of
    /// another token) are refused by `DecodedJws::decode` + `verify`,
    /// `verify_jws` and `TokenValidator::validate` (with and without the
    /// verified-token cache); only a no-op mutation is accepted.
    #[test]
    fn jws_mutations_are_refused(
        a in any::<Index>(),
        b in any::<Index>(),
        mutation in token_mutation(),
    ) {
        let s = signers();
        let a = &s.pool[a.index(s.pool.len())];
        let b = &s.pool[b.index(s.pool.len())];
        let originals = [a.as_str(), b.as_str()];
        let token = apply_token_mutation(a, b, &mutation);

        let verified = scalekit_core::verify_jws(&token, &s.keys, algorithms());
        if let Ok(jws) = scalekit_core::validate::DecodedJws::decode(
            &token,
            scalekit_core::AlgorithmSet::all(),
            scalekit_core::validate::DEFAULT_MAX_TOKEN_BYTES,
        ) {
            let _ = (jws.algorithm(), jws.kid());
            if let Some(key) = s.keys.find(jws.kid(), jws.algorithm()).cloned()
                && jws.verify(&key).is_ok()
            {
                prop_assert!(may_accept(&token, &originals), "decode+verify accepted {token}");
            }
        }
        let validated = runtime().block_on(
            validator().validate::<scalekit_core::AccessTokenClaims>(&token),
        );
        let cached = runtime().block_on(cached_validator().validate::<Value>(&token));
        for (what, ok) in [
            ("verify_jws", verified.is_ok()),
            ("validate", validated.is_ok()),
            ("validate (cached)", cached.is_ok()),
        ] {
            if ok {
                prop_assert!(may_accept(&token, &originals), "{what} accepted {token:?} ({mutation:?})");
            }
        }
        if token == *a {
            prop_assert!(verified.is_ok() && validated.is_ok() && cached.is_ok());
        }
    }

    /// Arbitrary text, token-shaped text, tokens made of random JSON parts,
    /// odd headers and genuine headers with bits flipped: never a panic,
    /// never accepted (that would be a forgery), and `DecodedJws::decode`
    /// only passes headers the reference accepts (a JSON object, so UTF-8).
    #[test]
    fn random_tokens_are_refused(
        token in prop_oneof![
            ".{0,300}",
            "[A-Za-z0-9_=.+/-]{0,600}",
            "[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,400}",
            (json_value(), json_value(), proptest::collection::vec(any::<u8>(), 0..300))
                .prop_map(|(h, p, s)| format!("{}.{}.{}", b64(h.to_string()), b64(p.to_string()), b64(s))),
            (select(vec![
                r#"{"alg":"RS256","alg":"none"}"#,
                r#"{"alg":"none","alg":"RS256","kid":"rsa-1"}"#,
                r#"["RS256","rsa-1",null]"#,
                r#"["RS256"]"#,
                r#"{"alg":"RS256","kid":"rsa-1","crit":[]}"#,
                r#"{"alg":"RS256","kid":"rsa-1","crit":null}"#,
                r#"{"alg":"RS256","kid":7}"#,
                r#"{"alg":"rs256","kid":"rsa-1"}"#,
                r#"{"alg":"RS256 ","kid":"rsa-1"}"#,
                r#" {"alg":"RS256","kid":"rsa-1"} "#,
                r#"{"alg":"RS256","kid":"rsa-1"}x"#,
                "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"\u{0}}",
            ]), any::<Index>(), proptest::collection::vec(any::<u8>(), 0..300))
                .prop_map(|(h, p, sig)| {
                    let s = signers();
                    let body = &s.pool[p.index(s.pool.len())];
                    format!("{}.{}.{}", b64(h), parts(body)[1], b64(sig))
                }),
            // A genuine header with bits flipped (invalid UTF-8 included),
            // on a genuine payload and signature.
            (any::<Index>(), proptest::collection::vec((any::<Index>(), any::<u8>()), 1..3))
                .prop_map(|(t, flips)| {
                    let s = signers();
                    let [h, p, sig] = parts(&s.pool[t.index(s.pool.len())]);
                    let mut header = URL_SAFE_NO_PAD.decode(h).expect("b64");
                    flip_bits(&mut header, &flips);
                    format!("{}.{p}.{sig}", b64(header))
                }),
        ],
    ) {
        let s = signers();
        for algs in [algorithms(), scalekit_core::AlgorithmSet::all()] {
            if let Ok(jws) = scalekit_core::validate::DecodedJws::decode(&token, algs, 1 << 20) {
                let header = URL_SAFE_NO_PAD.decode(parts(&token)[0].as_bytes()).unwrap_or_default();
                let allowed: Vec<&str> = algs.iter().map(|a| a.as_str()).collect();
                prop_assert!(
                    reference_header_ok(&header, &allowed),
                    "decode accepted the header {:?}", String::from_utf8_lossy(&header)
                );
                prop_assert!(allowed.contains(&jws.algorithm().as_str()));
            }
        }
        // (Bit flips with a zero mask give back a genuine token.)
        if !s.pool.contains(&token) {
            prop_assert!(scalekit_core::verify_jws(&token, &s.keys, scalekit_core::AlgorithmSet::all()).is_err());
            prop_assert!(runtime().block_on(validator().validate::<Value>(&token)).is_err());
            prop_assert!(runtime().block_on(cached_validator().validate::<Value>(&token)).is_err());
        }
    }
}

/// A claim value in the claims property: absent, or a JSON value.
type Claim = Option<Value>;

/// A time claim relative to now, or an odd value.
#[derive(Debug, Clone)]
enum Time {
    Absent,
    Null,
    Rel(i64),
    RelFloat(i64),
    Odd(Value),
}

fn time_claim(
    accepting: std::ops::Range<i64>,
    refusing: std::ops::Range<i64>,
) -> impl Strategy<Value = Time> {
    prop_oneof![
        1 => Just(Time::Absent),
        1 => Just(Time::Null),
        16 => accepting.clone().prop_map(Time::Rel),
        2 => refusing.prop_map(Time::Rel),
        2 => accepting.prop_map(Time::RelFloat),
        1 => select(vec![
            json!("1700000000"), json!(1e300), json!(-1e300), json!(u64::MAX), json!(i64::MIN),
            json!(0), json!([1]), json!({}), json!(true),
        ]).prop_map(Time::Odd),
    ]
}

impl Time {
    fn value(&self, now: i64) -> Claim {
        match self {
            Time::Absent => None,
            Time::Null => Some(Value::Null),
            Time::Rel(d) => Some(json!(now + d)),
            Time::RelFloat(d) => Some(json!(now as f64 + *d as f64 + 0.5)),
            Time::Odd(v) => Some(v.clone()),
        }
    }
}

/// Mostly one of `good`, else absent or one of `odd`.
fn claim(good: Vec<Value>, odd: Vec<Value>) -> impl Strategy<Value = Claim> {
    prop_oneof![
        12 => select(good).prop_map(Some),
        1 => Just(None),
        3 => select(odd).prop_map(Some),
    ]
}

/// A marker claim of a token kind: mostly absent (`sub` mostly present).
fn marker(name: &str) -> BoxedStrategy<Claim> {
    let values = vec![json!(null), json!("x"), json!(1), json!({}), json!("")];
    if name == "sub" {
        prop_oneof![6 => Just(Some(json!("usr_1"))), 1 => Just(None), 1 => select(values).prop_map(Some)].boxed()
    } else {
        prop_oneof![6 => Just(None), 1 => select(values).prop_map(Some)].boxed()
    }
}

#[derive(Debug, Clone)]
struct ClaimsCase {
    exp: Time,
    nbf: Time,
    iss: Claim,
    aud: Claim,
    markers: Vec<Claim>,
    extra: Vec<(String, Value)>,
    /// A registered (or other) claim written twice in the payload text,
    /// the first time with this value.
    duplicate: Option<(&'static str, Value)>,
}

const MARKERS: [&str; 8] = [
    "sub",
    "nonce",
    "at_hash",
    "c_hash",
    "azp",
    "client_id",
    "organization_id",
    "connection_id",
];

fn claims_case() -> impl Strategy<Value = ClaimsCase> {
    (
        time_claim(-60 + 20..1_000_000, -1_000_000..-60 - 40),
        time_claim(-1_000_000..60 - 20, 60 + 40..1_000_000),
        claim(
            vec![
                json!(ISSUER),
                json!(format!("{ISSUER}/")),
                json!(format!("{ISSUER}//")),
            ],
            vec![
                json!("https://other.example"),
                json!(format!("{ISSUER}.evil")),
                json!(""),
                json!(null),
                json!(5),
                json!([ISSUER]),
                json!("HTTPS://ENV.EXAMPLE"),
            ],
        ),
        claim(
            vec![
                json!(AUDIENCE),
                json!([AUDIENCE]),
                json!(["other", AUDIENCE]),
            ],
            vec![
                json!("other"),
                json!([]),
                json!(["other"]),
                json!(null),
                json!([1]),
                json!(5),
                json!({"api": 1}),
                json!([AUDIENCE, null]),
                json!("API"),
                json!([[AUDIENCE]]),
            ],
        ),
        MARKERS.map(marker).to_vec(),
        proptest::collection::vec(("x_[a-z]{0,5}", json_value()), 0..3),
        proptest::option::weighted(
            0.15,
            (
                select(vec!["iss", "exp", "aud", "sub", "nbf", "nonce", "tenant"]),
                select(vec![
                    json!("https://evil.example"),
                    json!(0),
                    json!("other"),
                    json!(null),
                ]),
            ),
        ),
    )
        .prop_map(
            |(exp, nbf, iss, aud, markers, extra, duplicate)| ClaimsCase {
                exp,
                nbf,
                iss,
                aud,
                markers,
                extra,
                duplicate,
            },
        )
}

impl ClaimsCase {
    fn object(&self, now: i64) -> serde_json::Map<String, Value> {
        let mut map = serde_json::Map::new();
        for (k, v) in &self.extra {
            map.insert(k.clone(), v.clone());
        }
        let mut put = |k: &str, v: Claim| {
            if let Some(v) = v {
                map.insert(k.to_owned(), v);
            }
        };
        put("exp", self.exp.value(now));
        put("nbf", self.nbf.value(now));
        put("iss", self.iss.clone());
        put("aud", self.aud.clone());
        for (name, value) in MARKERS.iter().zip(&self.markers) {
            put(name, value.clone());
        }
        map
    }

    /// The payload text: the object, with the duplicated claim written
    /// first when there is one.
    fn payload(&self, now: i64) -> String {
        let mut object = self.object(now);
        match &self.duplicate {
            None => Value::Object(object).to_string(),
            Some((name, value)) => {
                let second = object.remove(*name).unwrap_or_else(|| value.clone());
                let key = Value::from(*name);
                let rest = Value::Object(object).to_string();
                let rest = if rest == "{}" {
                    "}".to_owned()
                } else {
                    format!(",{}", &rest[1..])
                };
                format!("{{{key}:{value},{key}:{second}{rest}")
            }
        }
    }
}

/// The reference rule for the claims of a verified token (RFC 7519 with
/// the library's documented policy): well-typed registered claims, `exp`
/// required and not past (60 s leeway), `nbf` not ahead, the issuer (one
/// trailing slash or more ignored), the token kind, the audience; a
/// registered claim written twice is refused (the checks and the
/// application could read different values).
fn reference_claims_ok(
    case: &ClaimsCase,
    now: i64,
    purpose: scalekit_core::TokenPurpose,
    check_audience: bool,
) -> bool {
    use scalekit_core::TokenPurpose;
    const REGISTERED: [&str; 12] = [
        "exp",
        "nbf",
        "iss",
        "aud",
        "sub",
        "nonce",
        "at_hash",
        "c_hash",
        "azp",
        "client_id",
        "organization_id",
        "connection_id",
    ];
    if let Some((name, _)) = &case.duplicate
        && REGISTERED.contains(name)
    {
        return false;
    }
    let map = case.object(now);
    let present = |k: &str| map.get(k).is_some_and(|v| !v.is_null());
    let number = |k: &str| -> Result<Option<f64>, ()> {
        match map.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_f64().map(Some).ok_or(()),
            Some(_) => Err(()),
        }
    };
    let (Ok(exp), Ok(nbf)) = (number("exp"), number("nbf")) else {
        return false;
    };
    let iss = match map.get("iss") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return false,
    };
    let aud: Vec<&str> = match map.get("aud") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => {
            let strings: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            if strings.len() != items.len() {
                return false;
            }
            strings
        }
        Some(_) => return false,
    };
    let now = now as f64;
    let Some(exp) = exp else { return false };
    if now > exp + 60.0 {
        return false;
    }
    if nbf.is_some_and(|nbf| nbf > now + 60.0) {
        return false;
    }
    if iss.is_none_or(|iss| iss.trim_end_matches('/') != ISSUER) {
        return false;
    }
    let kind_ok = match purpose {
        TokenPurpose::Access => {
            present("sub")
                && !present("nonce")
                && !present("at_hash")
                && !present("c_hash")
                && (!present("azp") || present("client_id"))
        }
        TokenPurpose::Id => present("sub"),
        TokenPurpose::IdpInitiatedLogin => {
            !present("sub")
                && !present("nonce")
                && (present("organization_id") || present("connection_id"))
        }
        _ => true,
    };
    kind_ok && (!check_audience || aud.contains(&AUDIENCE))
}

proptest! {
    #![proptest_config(config())]

    /// Validly signed tokens with arbitrary claims: `validate` accepts
    /// exactly those the reference claims rule accepts, whatever the key,
    /// purpose and audience policy; `verify_jws` returns the signed payload.
    #[test]
    fn signed_claims_follow_the_reference_rule(
        case in claims_case(),
        who in prop_oneof![3 => Just(Signer::Ed), 1 => signer()],
        purpose in select(vec![
            scalekit_core::TokenPurpose::Access,
            scalekit_core::TokenPurpose::Id,
            scalekit_core::TokenPurpose::IdpInitiatedLogin,
            scalekit_core::TokenPurpose::Any,
        ]),
        check_audience in any::<bool>(),
    ) {
        let s = signers();
        let t = now();
        let payload = case.payload(t);
        let header = json!({"alg": who.alg(), "kid": who.kid()}).to_string();
        let token = s.sign_raw(who, header.as_bytes(), payload.as_bytes());
        let verified = scalekit_core::verify_jws(&token, &s.keys, algorithms());
        prop_assert_eq!(verified.as_deref(), Ok(payload.as_bytes()));
        let options = options(purpose, check_audience);
        let result = runtime().block_on(validator().validate_with::<Value>(&token, &options));
        let expected = reference_claims_ok(&case, t, purpose, check_audience);
        prop_assert_eq!(result.is_ok(), expected, "{} -> {:?}", payload, result);
    }
}

// ===========================================================================
// 2. JWKS documents.
// ===========================================================================

/// The key material of a JWK as the reference compares it: type, curve and
/// the decoded public numbers (RSA numbers without leading zeros).
fn key_material(jwk: &Value) -> Option<(String, String, Vec<Vec<u8>>)> {
    let text = |k: &str| jwk.get(k).and_then(Value::as_str).map(str::to_owned);
    let number = |k: &str| -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(jwk.get(k)?.as_str()?).ok()?;
        let zeros = bytes.iter().take_while(|b| **b == 0).count();
        Some(bytes[zeros..].to_vec())
    };
    let raw = |k: &str| -> Option<Vec<u8>> { URL_SAFE_NO_PAD.decode(jwk.get(k)?.as_str()?).ok() };
    let kty = text("kty")?;
    let numbers = match kty.as_str() {
        "RSA" => vec![number("n")?, number("e")?],
        "EC" => vec![raw("x")?, raw("y")?],
        _ => vec![raw("x")?],
    };
    // `crv` means something for EC and OKP keys only (ignored elsewhere).
    let crv = if kty == "RSA" {
        String::new()
    } else {
        text("crv").unwrap_or_default()
    };
    Some((kty, crv, numbers))
}

/// The reference acceptance rules of one JWK that can be read off its JSON:
/// a JSON object of an asymmetric type, no private or symmetric material
/// (members absent or null),
/// `use` absent or `sig`, `key_ops` absent or with `verify`, a string `kid`
/// if any.
fn reference_jwk_may_be_accepted(jwk: &Value) -> bool {
    let Some(map) = jwk.as_object() else {
        return false;
    };
    let absent = |k: &str| map.get(k).is_none_or(Value::is_null);
    let kty_ok = matches!(
        map.get("kty").and_then(Value::as_str),
        Some("RSA" | "EC" | "OKP")
    );
    // A null member carries no key material: it counts as absent.
    let private_absent = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
        .iter()
        .all(|k| absent(k));
    let use_ok = absent("use") || map.get("use").and_then(Value::as_str) == Some("sig");
    let ops_ok = absent("key_ops")
        || map
            .get("key_ops")
            .and_then(Value::as_array)
            .is_some_and(|ops| ops.iter().any(|o| o == "verify"));
    let kid_ok = absent("kid") || map.get("kid").is_some_and(Value::is_string);
    kty_ok && private_absent && use_ok && ops_ok && kid_ok
}

fn check_key_set(keys: &[Value], set: &scalekit_core::KeySet) -> Result<(), TestCaseError> {
    prop_assert_eq!(set.len() + set.rejected().len(), keys.len());
    for kid in set.kids() {
        let holders: Vec<&Value> = keys
            .iter()
            .filter(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
            .collect();
        prop_assert_eq!(
            holders.len(),
            1,
            "kid {} accepted but held by {} keys",
            kid,
            holders.len()
        );
        prop_assert!(
            reference_jwk_may_be_accepted(holders[0]),
            "accepted against the reference: {}",
            holders[0]
        );
        let key = set.get(kid).expect("listed kid");
        prop_assert_eq!(key.kid(), Some(kid));
    }
    Ok(())
}

/// Field edits of one key of the real JWKS.
#[derive(Debug, Clone)]
enum JwksMutation {
    Text(Vec<Edit>),
    Field(Index, Vec<JsonEdit>),
    /// One key's field replaced by the same field of another key.
    Borrow(Index, Index, &'static str),
    DuplicateKey(Index),
    DropKey(Index),
    /// One key's base64url number mutated (bits flipped).
    Number(Index, &'static str, Vec<(Index, u8)>),
    /// One key's base64url number with leading zero bytes added.
    LeadingZeros(Index, &'static str, u8),
}

fn jwks_mutation() -> impl Strategy<Value = JwksMutation> {
    let fields = vec![
        "kty", "kid", "use", "alg", "key_ops", "crv", "n", "e", "x", "y", "d", "k", "p", "oth",
    ];
    prop_oneof![
        3 => edits().prop_map(JwksMutation::Text),
        3 => (any::<Index>(), json_edits(fields.clone()))
            .prop_map(|(i, e)| JwksMutation::Field(i, e)),
        2 => (any::<Index>(), any::<Index>(), select(fields))
            .prop_map(|(a, b, f)| JwksMutation::Borrow(a, b, f)),
        1 => any::<Index>().prop_map(JwksMutation::DuplicateKey),
        1 => any::<Index>().prop_map(JwksMutation::DropKey),
        2 => (any::<Index>(), select(vec!["n", "e", "x", "y"]),
              proptest::collection::vec((any::<Index>(), any::<u8>()), 1..3))
            .prop_map(|(i, f, b)| JwksMutation::Number(i, f, b)),
        1 => (any::<Index>(), select(vec!["n", "e", "x", "y"]), 1u8..4)
            .prop_map(|(i, f, z)| JwksMutation::LeadingZeros(i, f, z)),
    ]
}

fn apply_jwks_mutation(jwks: &Value, mutation: &JwksMutation) -> String {
    let mut doc = jwks.clone();
    let keys = doc["keys"].as_array_mut().expect("keys");
    let n = keys.len();
    match mutation {
        JwksMutation::Text(e) => return apply_edits(&jwks.to_string(), e),
        JwksMutation::Field(i, e) => {
            let key = &mut keys[i.index(n)];
            *key = serde_json::from_slice(&apply_json_edits(key.to_string().as_bytes(), e))
                .expect("json");
        }
        JwksMutation::Borrow(a, b, field) => {
            let value = keys[b.index(n)].get(*field).cloned();
            let key = keys[a.index(n)].as_object_mut().expect("object");
            match value {
                Some(v) => key.insert((*field).to_owned(), v),
                None => key.remove(*field),
            };
        }
        JwksMutation::DuplicateKey(i) => {
            let key = keys[i.index(n)].clone();
            keys.push(key);
        }
        JwksMutation::DropKey(i) => {
            keys.remove(i.index(n));
        }
        JwksMutation::Number(i, field, flips) => {
            let key = &mut keys[i.index(n)];
            if let Some(text) = key.get(*field).and_then(Value::as_str) {
                let mut bytes = URL_SAFE_NO_PAD.decode(text).expect("b64");
                flip_bits(&mut bytes, flips);
                key[*field] = Value::from(b64(bytes));
            }
        }
        JwksMutation::LeadingZeros(i, field, zeros) => {
            let key = &mut keys[i.index(n)];
            if let Some(text) = key.get(*field).and_then(Value::as_str) {
                let mut bytes = vec![0; usize::from(*zeros)];
                bytes.extend(URL_SAFE_NO_PAD.decode(text).expect("b64"));
                key[*field] = Value::from(b64(bytes));
            }
        }
    }
    doc.to_string()
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes and arbitrary JSON: never a panic; a document is
    /// only read when it is a JSON object with a `keys` array (RFC 7517
    /// §5); every key is accepted or rejected, accepted keys meet the
    /// reference rules and have a `kid` held by no other key;
    /// `from_jwks_json` and `from_jwks` agree.
    #[test]
    fn jwks_documents_follow_the_reference_rule(
        doc in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            json_value().prop_map(|v| v.to_string().into_bytes()),
            proptest::collection::vec(json_value(), 0..6)
                .prop_map(|keys| json!({"keys": keys}).to_string().into_bytes()),
            proptest::collection::vec(
                proptest::collection::btree_map(
                    select(vec!["kty", "kid", "use", "alg", "key_ops", "crv", "n", "e", "x", "y", "d", "k"]),
                    json_scalar(),
                    0..8,
                ),
                0..5,
            )
            .prop_map(|keys| json!({"keys": keys}).to_string().into_bytes()),
        ],
    ) {
        let bytes = doc;
        let parsed = scalekit_core::KeySet::from_jwks_json(&bytes);
        let reference = serde_json::from_slice::<Value>(&bytes).ok();
        let keys = reference
            .as_ref()
            .and_then(Value::as_object)
            .and_then(|o| o.get("keys"))
            .and_then(Value::as_array);
        match (&parsed, keys) {
            (Ok(set), Some(keys)) => {
                check_key_set(keys, set)?;
                let again = scalekit_core::KeySet::from_jwks(keys);
                prop_assert_eq!(again.len(), set.len());
                prop_assert_eq!(again.rejected(), set.rejected());
            }
            (Ok(_), None) => prop_assert!(
                false,
                "read as a JWKS: {:?}", String::from_utf8_lossy(&bytes)
            ),
            (Err(_), _) => {}
        }
    }

    /// The real JWKS mutated (text edits, fields changed, borrowed from
    /// another key, numbers flipped, keys duplicated or dropped): never a
    /// panic, the key-set invariants hold, and a genuine token verifies only
    /// against a key whose material is the signer's own (a key can never
    /// be substituted).
    #[test]
    fn mutated_jwks_never_substitute_a_key(mutation in jwks_mutation()) {
        let s = signers();
        let text = apply_jwks_mutation(&s.jwks, &mutation);
        let Ok(set) = scalekit_core::KeySet::from_jwks_json(text.as_bytes()) else {
            return Ok(());
        };
        let doc: Value = serde_json::from_str(&text).expect("parsed once");
        let keys = doc["keys"].as_array().cloned().unwrap_or_default();
        check_key_set(&keys, &set)?;
        let originals = s.jwks["keys"].as_array().expect("keys");
        for (i, who) in [Signer::Rsa1, Signer::Rsa2, Signer::Ed, Signer::Ec].into_iter().enumerate() {
            let token = &s.pool[i];
            if scalekit_core::verify_jws(token, &set, algorithms()).is_ok() {
                let own = key_material(&originals[i]);
                let holder = keys.iter().find(|k| k.get("kid").and_then(Value::as_str) == Some(who.kid()));
                prop_assert!(holder.is_some());
                prop_assert_eq!(key_material(holder.expect("holder")), own, "{:?}", mutation);
            }
        }
    }
}

// ===========================================================================
// 3. Sealed cookies and their chunks.
// ===========================================================================

const COOKIE_SECRET: &str = "an-old-secret-of-at-least-32-bytes-0123456789";
const COOKIE_SECRET_NEW: &str = "the-new-secret-of-at-least-32-bytes-abcdefghij";

fn codec() -> &'static scalekit_core::session::CookieCodec {
    static C: OnceLock<scalekit_core::session::CookieCodec> = OnceLock::new();
    C.get_or_init(|| {
        scalekit_core::session::CookieCodec::new([COOKIE_SECRET_NEW, COOKIE_SECRET]).expect("codec")
    })
}

fn old_codec() -> &'static scalekit_core::session::CookieCodec {
    static C: OnceLock<scalekit_core::session::CookieCodec> = OnceLock::new();
    C.get_or_init(|| scalekit_core::session::CookieCodec::new([COOKIE_SECRET]).expect("codec"))
}

fn cookie_name() -> impl Strategy<Value = String> {
    prop_oneof![Just("sk_session".to_owned()), "[a-z_]{1,12}"]
}

#[derive(Debug, Clone)]
enum SealedMutation {
    Text(Vec<Edit>),
    Bits(Vec<(Index, u8)>),
    Truncate(Index),
    Append(Vec<u8>),
    NonCanonical(u8),
    Padding(u8),
}

fn sealed_mutation() -> impl Strategy<Value = SealedMutation> {
    prop_oneof![
        4 => edits().prop_map(SealedMutation::Text),
        4 => proptest::collection::vec((any::<Index>(), any::<u8>()), 1..4).prop_map(SealedMutation::Bits),
        1 => any::<Index>().prop_map(SealedMutation::Truncate),
        1 => proptest::collection::vec(any::<u8>(), 1..8).prop_map(SealedMutation::Append),
        1 => (1u8..16).prop_map(SealedMutation::NonCanonical),
        1 => (1u8..3).prop_map(SealedMutation::Padding),
    ]
}

fn apply_sealed_mutation(sealed: &str, mutation: &SealedMutation) -> String {
    let bytes = || URL_SAFE_NO_PAD.decode(sealed).expect("sealed is base64url");
    match mutation {
        SealedMutation::Text(e) => apply_edits(sealed, e),
        SealedMutation::Bits(flips) => {
            let mut b = bytes();
            flip_bits(&mut b, flips);
            b64(b)
        }
        SealedMutation::Truncate(i) => {
            let mut b = bytes();
            b.truncate(i.index(b.len() + 1));
            b64(b)
        }
        SealedMutation::Append(extra) => {
            let mut b = bytes();
            b.extend_from_slice(extra);
            b64(b)
        }
        SealedMutation::NonCanonical(bits) => non_canonical_tail(sealed, *bits),
        SealedMutation::Padding(n) => format!("{sealed}{}", "=".repeat(usize::from(*n))),
    }
}

/// How the cookies of a chunked value are laid out in the request, and
/// what an attacker changed.
#[derive(Debug, Clone)]
enum ChunkMutation {
    None,
    /// The value re-split at other boundaries (the same concatenation).
    Resplit(Vec<Index>),
    DropChunk(Index),
    SwapChunks(Index, Index),
    EditChunk(Index, Vec<Edit>),
    /// A chunk renumbered.
    Renumber(Index, u8),
    /// Another value for a chunk, placed before or after the genuine one.
    Shadow(Index, String, bool),
    /// An unchunked cookie of the same name, before or after the chunks.
    Unchunked(String, bool),
    /// Extra chunks after the last one.
    ExtraChunks(Vec<String>),
}

fn chunk_mutation() -> impl Strategy<Value = ChunkMutation> {
    prop_oneof![
        2 => Just(ChunkMutation::None),
        2 => proptest::collection::vec(any::<Index>(), 0..6).prop_map(ChunkMutation::Resplit),
        1 => any::<Index>().prop_map(ChunkMutation::DropChunk),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| ChunkMutation::SwapChunks(a, b)),
        3 => (any::<Index>(), edits()).prop_map(|(i, e)| ChunkMutation::EditChunk(i, e)),
        1 => (any::<Index>(), 0u8..9).prop_map(|(i, n)| ChunkMutation::Renumber(i, n)),
        2 => (any::<Index>(), "[A-Za-z0-9_-]{0,40}", any::<bool>())
            .prop_map(|(i, v, before)| ChunkMutation::Shadow(i, v, before)),
        1 => ("[A-Za-z0-9_-]{0,60}", any::<bool>()).prop_map(|(v, b)| ChunkMutation::Unchunked(v, b)),
        1 => proptest::collection::vec("[A-Za-z0-9_-]{1,40}", 1..3).prop_map(ChunkMutation::ExtraChunks),
    ]
}

/// The cookies as the request carries them: `(name, value)` in order.
fn chunk_layout(
    name: &str,
    chunks: &[(String, String)],
    mutation: &ChunkMutation,
) -> Vec<(String, String)> {
    let mut cookies: Vec<(String, String)> = chunks.to_vec();
    let n = cookies.len();
    match mutation {
        ChunkMutation::None => {}
        ChunkMutation::Resplit(cuts) => {
            if n > 1 {
                let whole: String = cookies.iter().map(|(_, v)| v.as_str()).collect();
                let mut points: Vec<usize> =
                    cuts.iter().map(|c| c.index(whole.len() + 1)).collect();
                points.push(0);
                points.push(whole.len());
                points.sort_unstable();
                points.dedup();
                cookies = points
                    .windows(2)
                    .enumerate()
                    .map(|(i, w)| (format!("{name}.{i}"), whole[w[0]..w[1]].to_owned()))
                    .collect();
            }
        }
        ChunkMutation::DropChunk(i) => {
            cookies.remove(i.index(n));
        }
        ChunkMutation::SwapChunks(a, b) => {
            let (a, b) = (a.index(n), b.index(n));
            let va = cookies[a].1.clone();
            cookies[a].1 = cookies[b].1.clone();
            cookies[b].1 = va;
        }
        ChunkMutation::EditChunk(i, e) => {
            let i = i.index(n);
            // Keep the value a plain cookie value so that the header
            // carries it as it is.
            let edited: String = apply_edits(&cookies[i].1, e)
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            cookies[i].1 = edited;
        }
        ChunkMutation::Renumber(i, to) => {
            let i = i.index(n);
            cookies[i].0 = format!("{name}.{to}");
        }
        ChunkMutation::Shadow(i, value, before) => {
            let i = i.index(n);
            let shadow = (cookies[i].0.clone(), value.clone());
            cookies.insert(if *before { i } else { i + 1 }, shadow);
        }
        ChunkMutation::Unchunked(value, before) => {
            let cookie = (name.to_owned(), value.clone());
            if *before {
                cookies.insert(0, cookie);
            } else {
                cookies.push(cookie);
            }
        }
        ChunkMutation::ExtraChunks(extra) => {
            for (k, v) in extra.iter().enumerate() {
                cookies.push((format!("{name}.{}", n + k), v.clone()));
            }
        }
    }
    cookies
}

/// The reference reassembly: the first cookie named `name` if any, else the
/// first values of `name.0`, `name.1`, … while consecutive, at most
/// `max_chunks` of them.
fn reference_reassembly(
    name: &str,
    cookies: &[(String, String)],
    max_chunks: usize,
) -> Option<String> {
    let first = |n: &str| cookies.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    if let Some(v) = first(name) {
        return Some(v);
    }
    let mut out = String::new();
    for i in 0..max_chunks {
        match first(&format!("{name}.{i}")) {
            Some(v) => out.push_str(&v),
            None => break,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Renders cookies as `Cookie` header values, with optional whitespace and
/// quotes around the values and other cookies mixed in.
fn cookie_headers(cookies: &[(String, String)], style: &[u8]) -> Vec<String> {
    let mut headers = vec![String::new()];
    for (i, (name, value)) in cookies.iter().enumerate() {
        let s = style.get(i).copied().unwrap_or(0);
        let value = if s & 1 != 0 {
            format!("\"{value}\"")
        } else {
            value.clone()
        };
        let pair = if s & 2 != 0 {
            format!(" {name} = {value} ")
        } else {
            format!("{name}={value}")
        };
        if s & 4 != 0 {
            headers.push(String::new());
        }
        let last = headers.last_mut().expect("one");
        if s & 8 != 0 {
            if !last.is_empty() {
                last.push_str("; ");
            }
            last.push_str("x-other=1");
        }
        if !last.is_empty() {
            last.push_str("; ");
        }
        last.push_str(&pair);
    }
    headers
}

proptest! {
    #![proptest_config(config())]

    /// A sealed value opens to its plaintext under its own name only, with
    /// any codec holding its secret (rotation), and under no other name.
    #[test]
    fn sealed_cookies_round_trip(
        name in cookie_name(),
        other in cookie_name(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let sealed = old_codec().seal(&name, &plaintext).expect("seal");
        prop_assert_eq!(codec().open(&name, &sealed), Ok(plaintext.clone()));
        prop_assert_eq!(old_codec().open(&name, &sealed), Ok(plaintext.clone()));
        if other != name {
            prop_assert!(codec().open(&other, &sealed).is_err());
        }
        let newer = codec().seal(&name, &plaintext).expect("seal");
        prop_assert!(old_codec().open(&name, &newer).is_err(), "the old secret opened a new value");
    }

    /// A mutated sealed value never opens, unless the mutation left the text
    /// unchanged (then it opens to the original plaintext).
    #[test]
    fn mutated_sealed_cookies_never_open(
        name in cookie_name(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..300),
        mutation in sealed_mutation(),
    ) {
        let sealed = codec().seal(&name, &plaintext).expect("seal");
        let mutated = apply_sealed_mutation(&sealed, &mutation);
        let opened = codec().open(&name, &mutated);
        if mutated == sealed {
            prop_assert_eq!(opened, Ok(plaintext));
        } else {
            prop_assert!(opened.is_err(), "{:?} opened after {:?}", mutated, mutation);
        }
    }

    /// Random values, including well-formed ones with the real version and
    /// key id, never open.
    #[test]
    fn random_sealed_values_never_open(
        value in prop_oneof![
            ".{0,200}",
            "[A-Za-z0-9_-]{0,400}",
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(|mut tail| {
                let sealed = codec().seal("sk_session", b"").expect("seal");
                let mut bytes = URL_SAFE_NO_PAD.decode(sealed).expect("b64");
                bytes.truncate(5);
                bytes.append(&mut tail);
                b64(bytes)
            }),
        ],
    ) {
        prop_assert!(codec().open("sk_session", &value).is_err());
        let headers = [format!("sk_session.0={value}"), format!("sk_session={value}")];
        for header in &headers {
            let cookies = scalekit_core::session::RequestCookies::parse([header.as_str()]);
            prop_assert!(
                !matches!(codec().open_chunked("sk_session", &cookies), Ok(Some(_))),
                "{} opened", header
            );
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Chunked values (`seal_chunked`) reassembled from `Cookie` headers with
    /// chunks dropped, swapped, edited, renumbered, shadowed, re-split or
    /// extended: `open_chunked` yields the original plaintext exactly when
    /// the reference reassembly gives back the sealed text, and nothing
    /// else ever.
    #[test]
    fn chunked_cookies_reassemble_only_the_original(
        name in cookie_name(),
        len in prop_oneof![0usize..3000, 2800usize..17000],
        seed in any::<u8>(),
        mutation in chunk_mutation(),
        style in proptest::collection::vec(any::<u8>(), 0..10),
        max_chunks in prop_oneof![4 => Just(scalekit_core::session::DEFAULT_MAX_CHUNKS), 1 => 1usize..8],
    ) {
        let codec = scalekit_core::session::CookieCodec::new([COOKIE_SECRET]).expect("codec").max_chunks(max_chunks);
        let plaintext: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
        let chunks = match codec.seal_chunked(&name, &plaintext) {
            Ok(chunks) => chunks,
            Err(scalekit_core::session::CookieError::TooLarge { size, max }) => {
                prop_assert!(size > max);
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("seal: {e}"))),
        };
        prop_assert!(chunks.iter().all(|(_, v)| v.len() <= scalekit_core::session::CHUNK_SIZE));
        let sealed: String = chunks.iter().map(|(_, v)| v.as_str()).collect();
        let cookies = chunk_layout(&name, &chunks, &mutation);
        let headers = cookie_headers(&cookies, &style);
        let parsed = scalekit_core::session::RequestCookies::parse(headers.iter().map(String::as_str));
        let opened = codec.open_chunked(&name, &parsed);
        let reassembled = reference_reassembly(&name, &cookies, max_chunks);
        match &opened {
            Ok(Some(p)) => {
                prop_assert_eq!(p, &plaintext);
                prop_assert_eq!(reassembled.as_deref(), Some(sealed.as_str()), "{:?}", mutation);
            }
            Ok(None) => prop_assert!(reassembled.is_none()),
            Err(_) => prop_assert!(reassembled.as_deref() != Some(sealed.as_str()), "{:?}", mutation),
        }
    }

    /// Random `Cookie` headers never yield an opened value.
    #[test]
    fn random_cookie_headers_never_open(
        headers in proptest::collection::vec(
            prop_oneof![
                ".{0,200}",
                proptest::collection::vec(
                    (select(vec!["sk_session", "sk_session.0", "sk_session.1", "sk_session.2", "x"]),
                     "[A-Za-z0-9_\" -]{0,120}"),
                    0..6,
                ).prop_map(|pairs| pairs.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ")),
            ],
            0..4,
        ),
    ) {
        let cookies = scalekit_core::session::RequestCookies::parse(headers.iter().map(String::as_str));
        prop_assert!(!matches!(codec().open_chunked("sk_session", &cookies), Ok(Some(_))));
    }
}

// ===========================================================================
// 4. Webhook signatures.
// ===========================================================================

const WEBHOOK_NOW: i64 = 1_700_000_000;

/// The secrets of the webhook properties: their bytes and `whsec_` forms.
fn webhook_secrets() -> &'static [(Vec<u8>, String)] {
    static S: OnceLock<Vec<(Vec<u8>, String)>> = OnceLock::new();
    S.get_or_init(|| {
        (0u8..3)
            .map(|i| {
                let bytes: Vec<u8> = (0..24 + i * 8)
                    .map(|j| j.wrapping_mul(97).wrapping_add(i))
                    .collect();
                let text = format!("whsec_{}", STANDARD.encode(&bytes));
                (bytes, text)
            })
            .collect()
    })
}

/// The reference HMAC: `HMAC-SHA256(secret, id "." timestamp "." body)`,
/// the timestamp as a decimal integer.
fn reference_tag(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    let mut out = [0; 32];
    out.copy_from_slice(aws_lc_rs::hmac::sign(&key, &message).as_ref());
    out
}

/// The reference timestamp: an optional `-` and 1 to 18 decimal digits.
fn reference_timestamp(value: &str) -> Option<i64> {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, value),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Some(if negative { -n } else { n })
}

/// The reference rule of a delivery: all three headers, a timestamp within
/// 300 s of `now`, an id of at most 256 bytes, a signature header of at most
/// 2048 bytes and 16 entries, one of whose `v1,` entries is the canonical
/// base64 of the MAC of (id, timestamp, body) under one of the secrets.
fn reference_webhook_ok(
    secrets: &[(Vec<u8>, String)],
    id: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> bool {
    let (Some(id), Some(timestamp), Some(signature)) = (id, timestamp, signature) else {
        return false;
    };
    let Some(ts) = reference_timestamp(timestamp) else {
        return false;
    };
    if (now - ts).abs() > 300 || id.len() > 256 || signature.len() > 2048 {
        return false;
    }
    let entries: Vec<&str> = signature.split(' ').filter(|e| !e.is_empty()).collect();
    if entries.len() > 16 {
        return false;
    }
    let tags: Vec<[u8; 32]> = secrets
        .iter()
        .map(|(secret, _)| reference_tag(secret, id, ts, body))
        .collect();
    entries.iter().any(|entry| {
        entry
            .strip_prefix("v1,")
            .and_then(|sig| STANDARD.decode(sig).ok())
            .is_some_and(|sig| tags.iter().any(|t| t[..] == sig[..]))
    })
}

/// One entry of a signature header.
#[derive(Debug, Clone)]
enum SigEntry {
    /// The correct `v1` signature under secret `i`.
    Real(usize),
    /// The correct signature, altered.
    RealEdited(usize, Vec<Edit>),
    /// The correct signature bytes under another version or spelling.
    RealAs(usize, &'static str),
    /// The correct signature without padding, or in the URL-safe alphabet.
    RealEncoding(usize, bool),
    /// A random `v1` signature.
    Random([u8; 32]),
    /// Anything.
    Junk(String),
}

fn sig_entry() -> impl Strategy<Value = SigEntry> {
    prop_oneof![
        2 => (0usize..3).prop_map(SigEntry::Real),
        3 => ((0usize..3), edits()).prop_map(|(i, e)| SigEntry::RealEdited(i, e)),
        1 => ((0usize..3), select(vec!["v2,", "V1,", "v1=", "v1, ", "v1,,", "v1", ",", "v10,", " v1,"]))
            .prop_map(|(i, p)| SigEntry::RealAs(i, p)),
        1 => ((0usize..3), any::<bool>()).prop_map(|(i, u)| SigEntry::RealEncoding(i, u)),
        2 => any::<[u8; 32]>().prop_map(SigEntry::Random),
        2 => prop_oneof![".{0,50}", "v[12],[A-Za-z0-9+/=]{0,60}", "[ -~]{100,300}"].prop_map(SigEntry::Junk),
    ]
}

#[derive(Debug, Clone)]
struct WebhookCase {
    id: String,
    timestamp: String,
    /// When set, the signatures are made for this (id, timestamp, body)
    /// rather than the delivered one (a replay with other values).
    signed_for: Option<(String, i64, Vec<u8>)>,
    body: Vec<u8>,
    entries: Vec<SigEntry>,
    separators: Vec<u8>,
    /// Which header is missing (3 or more: none), which is duplicated
    /// first with junk.
    missing: u8,
    shadowed: Option<(u8, String)>,
    /// Upper-case header names.
    upper: bool,
    secrets: usize,
}

fn webhook_case() -> impl Strategy<Value = WebhookCase> {
    let timestamp = prop_oneof![
        6 => (-400i64..400).prop_map(|d| (WEBHOOK_NOW + d).to_string()),
        1 => (-400i64..400, 1usize..12).prop_map(|(d, z)| format!("{}{}", "0".repeat(z), WEBHOOK_NOW + d)),
        1 => (-400i64..400).prop_map(|d| format!("+{}", WEBHOOK_NOW + d)),
        1 => (-400i64..400).prop_map(|d| format!(" {} ", WEBHOOK_NOW + d)),
        1 => prop_oneof!["-?[0-9]{0,22}", ".{0,20}", Just("-0".to_owned()), Just("9223372036854775807".to_owned())],
    ];
    let signed_for = proptest::option::weighted(
        0.2,
        (
            "msg_[a-z0-9]{0,6}",
            -400i64..400,
            proptest::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(id, d, body)| (id, WEBHOOK_NOW + d, body)),
    );
    (
        prop_oneof![
            6 => "msg_[A-Za-z0-9]{1,30}",
            1 => ".{0,40}",
            1 => "[ -~]{250,262}",
            1 => "msg_[0-9]{1,4}\\.[0-9]{10}",
        ],
        timestamp,
        signed_for,
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::collection::vec(sig_entry(), 0..24),
        proptest::collection::vec(any::<u8>(), 0..24),
        prop_oneof![8 => Just(9u8), 1 => 0u8..3],
        proptest::option::weighted(0.1, (0u8..3, ".{0,20}")),
        any::<bool>(),
        1usize..4,
    )
        .prop_map(
            |(
                id,
                timestamp,
                signed_for,
                body,
                entries,
                separators,
                missing,
                shadowed,
                upper,
                secrets,
            )| {
                WebhookCase {
                    id,
                    timestamp,
                    signed_for,
                    body,
                    entries,
                    separators,
                    missing,
                    shadowed,
                    upper,
                    secrets,
                }
            },
        )
}

impl WebhookCase {
    /// The signature header.
    fn signature(&self, secrets: &[(Vec<u8>, String)]) -> String {
        let (id, ts, body) = match &self.signed_for {
            Some((id, ts, body)) => (id.as_str(), *ts, body.as_slice()),
            None => (
                self.id.as_str(),
                reference_timestamp(&self.timestamp).unwrap_or(WEBHOOK_NOW),
                self.body.as_slice(),
            ),
        };
        let real = |i: usize| {
            let (secret, text) = &secrets[i % secrets.len()];
            let tag = reference_tag(secret, id, ts, body);
            (STANDARD.encode(tag), text.clone())
        };
        let mut out = String::new();
        for (k, entry) in self.entries.iter().enumerate() {
            let text = match entry {
                SigEntry::Real(i) => {
                    let (sig, secret) = real(*i);
                    // The library's own signer agrees with the reference.
                    let theirs =
                        scalekit_core::webhook::sign_payload(&secret, id, ts, body).expect("sign");
                    assert_eq!(theirs, format!("v1,{sig}"));
                    theirs
                }
                SigEntry::RealEdited(i, e) => apply_edits(&format!("v1,{}", real(*i).0), e),
                SigEntry::RealAs(i, prefix) => format!("{prefix}{}", real(*i).0),
                SigEntry::RealEncoding(i, url) => {
                    let tag = STANDARD.decode(real(*i).0).expect("b64");
                    if *url {
                        format!(
                            "v1,{}",
                            base64::engine::general_purpose::URL_SAFE.encode(tag)
                        )
                    } else {
                        format!(
                            "v1,{}",
                            base64::engine::general_purpose::STANDARD_NO_PAD.encode(tag)
                        )
                    }
                }
                SigEntry::Random(tag) => format!("v1,{}", STANDARD.encode(tag)),
                SigEntry::Junk(s) => s.clone(),
            };
            if k > 0 {
                let sep = self.separators.get(k).copied().unwrap_or(0);
                out.push_str(match sep % 8 {
                    0 => "  ",
                    1 => "\t",
                    2 => ", ",
                    _ => " ",
                });
            }
            out.push_str(&text);
        }
        out
    }

    /// The headers as name-value pairs, in order.
    fn headers(&self, prefix: &str, signature: &str) -> Vec<(String, String)> {
        let name = |n: &str| {
            let name = format!("{prefix}-{n}");
            if self.upper {
                name.to_uppercase()
            } else {
                name
            }
        };
        let mut headers = vec![
            (name("id"), self.id.clone()),
            (name("timestamp"), self.timestamp.clone()),
            (name("signature"), signature.to_owned()),
        ];
        if let Some((which, junk)) = &self.shadowed {
            let which = usize::from(*which);
            headers.insert(which, (headers[which].0.clone(), junk.clone()));
        }
        if self.missing < 3 {
            let gone = headers[usize::from(self.missing)].0.clone();
            headers.retain(|(n, _)| *n != gone);
        }
        headers
    }
}

/// The first value of header `name` (case-insensitive) in `pairs`.
fn first_header<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The same headers in an `http::HeaderMap`: values that are not header
/// values are left out, and those that are not visible ASCII cannot be read
/// as text.
fn header_map(
    pairs: &[(String, String)],
) -> (reqwest::header::HeaderMap, Vec<(String, Option<String>)>) {
    let mut map = reqwest::header::HeaderMap::new();
    let mut readable = Vec::new();
    for (n, v) in pairs {
        let (Ok(name), Ok(value)) = (
            reqwest::header::HeaderName::from_bytes(n.as_bytes()),
            reqwest::header::HeaderValue::from_str(v),
        ) else {
            continue;
        };
        map.append(name, value);
        let visible = v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
        readable.push((n.clone(), visible.then(|| v.clone())));
    }
    (map, readable)
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary webhook headers (ids, timestamps with signs, zeros and
    /// junk, up to 24 signature entries of every kind, correct signatures
    /// edited or re-encoded or made for other values, headers missing,
    /// duplicated or upper-case), as pairs and as an `http::HeaderMap`:
    /// accepted exactly when the reference rule accepts, and each call
    /// computes at most one MAC per secret.
    #[test]
    fn webhook_headers_follow_the_reference_rule(case in webhook_case()) {
        let secrets = &webhook_secrets()[..case.secrets];
        let verifier = scalekit_core::webhook::WebhookVerifier::with_secrets(secrets.iter().map(|(_, t)| t))
            .expect("verifier");
        let signature = case.signature(secrets);
        let pairs = case.headers("webhook", &signature);
        let (map, readable) = header_map(&pairs);
        let pairs_read: Vec<(String, Option<String>)> =
            pairs.iter().map(|(n, v)| (n.clone(), Some(v.clone()))).collect();
        for (headers, result) in [
            (&pairs_read, {
                let before = macs(&verifier);
                let r = verifier.verify_webhook_at(&pairs[..], &case.body, WEBHOOK_NOW);
                prop_assert!(macs(&verifier) - before <= secrets.len() as u64);
                r
            }),
            (&readable, {
                let before = macs(&verifier);
                let r = verifier.verify_webhook_at(&map, &case.body, WEBHOOK_NOW);
                prop_assert!(macs(&verifier) - before <= secrets.len() as u64);
                r
            }),
        ] {
            let first = |name: &str| {
                headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.as_deref())
            };
            let expected = reference_webhook_ok(
                secrets,
                first("webhook-id"),
                first("webhook-timestamp"),
                first("webhook-signature"),
                &case.body,
                WEBHOOK_NOW,
            );
            prop_assert_eq!(result.is_ok(), expected, "{:?} -> {:?}", headers, result);
        }
    }

    /// Interceptor requests (`interceptor-*` headers, checked against the
    /// clock): the same rule.
    #[test]
    fn interceptor_headers_follow_the_reference_rule(
        case in webhook_case(),
        offset in prop_oneof![-250i64..250, 350i64..100_000, -100_000i64..-350],
    ) {
        let secrets = &webhook_secrets()[..case.secrets];
        let verifier = scalekit_core::webhook::WebhookVerifier::with_secrets(secrets.iter().map(|(_, t)| t))
            .expect("verifier");
        let t = now();
        let mut case = case;
        if reference_timestamp(&case.timestamp).is_some() {
            case.timestamp = (t + offset).to_string();
        }
        if let Some((_, ts, _)) = &mut case.signed_for {
            *ts += t - WEBHOOK_NOW;
        }
        let signature = case.signature(secrets);
        let pairs = case.headers("interceptor", &signature);
        let before = macs(&verifier);
        let result = verifier.verify_interceptor(&pairs[..], &case.body);
        prop_assert!(macs(&verifier) - before <= secrets.len() as u64);
        let expected = reference_webhook_ok(
            secrets,
            first_header(&pairs, "interceptor-id"),
            first_header(&pairs, "interceptor-timestamp"),
            first_header(&pairs, "interceptor-signature"),
            &case.body,
            t,
        );
        prop_assert_eq!(result.is_ok(), expected, "{:?} -> {:?}", pairs, result);
    }

    /// A correctly signed delivery, then one of id, timestamp or body
    /// changed: refused (the signature covers the exact values).
    #[test]
    fn a_signature_covers_the_exact_delivery(
        id in "msg_[A-Za-z0-9]{1,20}",
        delta in -290i64..290,
        body in proptest::collection::vec(any::<u8>(), 0..200),
        change in (0u8..3, edits()),
    ) {
        let (_, secret) = &webhook_secrets()[0];
        let verifier = scalekit_core::webhook::WebhookVerifier::new(secret).expect("verifier");
        let ts = WEBHOOK_NOW + delta;
        let signature = scalekit_core::webhook::sign_payload(secret, &id, ts, &body).expect("sign");
        let (mut id2, mut ts2, mut body2) = (id.clone(), ts.to_string(), body.clone());
        match change.0 {
            0 => id2 = apply_edits(&id, &change.1),
            1 => ts2 = apply_edits(&ts2, &change.1),
            _ => {
                let text: String = body.iter().map(|b| char::from(*b)).collect();
                body2 = apply_edits(&text, &change.1).chars().map(|c| c as u32 as u8).collect();
            }
        }
        let headers = [
            ("webhook-id", id2.as_str()),
            ("webhook-timestamp", ts2.as_str()),
            ("webhook-signature", signature.as_str()),
        ];
        let result = verifier.verify_webhook_at(&headers[..], &body2, WEBHOOK_NOW);
        let same = id2 == id && reference_timestamp(&ts2) == Some(ts) && body2 == body;
        prop_assert_eq!(result.is_ok(), same, "{:?} {:?}", headers, result);
    }
}

// ===========================================================================
// 5. Return targets.
// ===========================================================================

fn return_target() -> impl Strategy<Value = String> {
    let piece = select(vec![
        "/",
        "//",
        "\\",
        "%2F",
        "%2f",
        "%5C",
        "%5c",
        "%0A",
        "%0d",
        "%09",
        "%00",
        "%7F",
        "%C2%85",
        "%E2%80%A8",
        "%C0%AF",
        "%E0%80%AF",
        "%FF",
        "%",
        "%2",
        "%25",
        "%252F",
        "\t",
        "\n",
        "\r",
        "\u{85}",
        "\u{7f}",
        " ",
        ".",
        "..",
        "@",
        ":",
        "?",
        "#",
        "&",
        "=",
        "evil.com",
        "app.example",
        "http:",
        "https:",
        "javascript:",
        "a",
        "dashboard",
        "é",
        "\u{3000}",
        "／",
        "＼",
        "\u{feff}",
        "\u{200e}",
        "\u{2028}",
        "\u{0}",
    ]);
    prop_oneof![
        4 => proptest::collection::vec(piece, 0..10).prop_map(|p| p.concat()),
        2 => proptest::collection::vec(piece_or_text(), 0..6).prop_map(|p| format!("/{}", p.concat())),
        1 => ".{0,60}",
        1 => "/[ -~]{0,60}",
        1 => "/.{2050,2060}",
        1 => "/[a-z]{0,2}[éˏ暚\u{10348}]{300,700}",
    ]
}

fn piece_or_text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,6}", "[a-z%0-9A-F/\\\\.]{0,8}"]
}

proptest! {
    #![proptest_config(config())]

    /// `safe_return_to` passes only same-site paths: the target itself,
    /// starting with a single `/`, without backslash or control character
    /// (raw or percent-decoded), resolving against `https://app.example/`
    /// (raw or decoded) to that origin; `safe_return_target` is the same
    /// target as an ASCII header value decoding to the same bytes.
    #[test]
    fn return_targets_stay_on_the_site(target in return_target()) {
        let base = url::Url::parse("https://app.example/").expect("base");
        let safe = scalekit_core::oauth::safe_return_to(&target);
        let header = scalekit_core::oauth::safe_return_target(&target);
        prop_assert_eq!(safe.is_some(), header.is_some());
        let Some(safe) = safe else { return Ok(()) };
        prop_assert_eq!(safe, target.as_str());
        prop_assert!(safe.len() <= scalekit_core::oauth::MAX_RETURN_TO_LEN);
        let decoded = percent_encoding::percent_decode_str(safe).decode_utf8();
        prop_assert!(decoded.is_ok(), "not UTF-8 once decoded: {:?}", safe);
        let decoded = decoded.expect("utf-8");
        for form in [safe, &*decoded] {
            prop_assert!(form.starts_with('/') && !form.starts_with("//"), "{:?}", form);
            prop_assert!(!form.contains('\\'), "{:?}", form);
            prop_assert!(!form.chars().any(char::is_control), "{:?}", form);
            let resolved = base.join(form);
            prop_assert!(resolved.is_ok(), "{:?}", form);
            let resolved = resolved.expect("resolved");
            prop_assert_eq!(resolved.scheme(), "https");
            prop_assert_eq!(resolved.host_str(), Some("app.example"), "{:?}", form);
            prop_assert_eq!(resolved.port(), None);
            prop_assert_eq!(resolved.username(), "");
            prop_assert_eq!(resolved.password(), None);
        }
        let header = header.expect("safe");
        prop_assert!(header.is_ascii());
        prop_assert!(reqwest::header::HeaderValue::from_str(&header).is_ok(), "{:?}", header);
        prop_assert_eq!(
            percent_encoding::percent_decode_str(&header).collect::<Vec<u8>>(),
            percent_encoding::percent_decode_str(safe).collect::<Vec<u8>>()
        );
        // Percent-encoding can take the header form past the length limit.
        if header.len() <= scalekit_core::oauth::MAX_RETURN_TO_LEN {
            prop_assert_eq!(scalekit_core::oauth::safe_return_to(&header), Some(header.as_str()));
        }
        let resolved = base.join(&header).expect("resolved");
        prop_assert_eq!(resolved.host_str(), Some("app.example"));
    }
}

// ===========================================================================
// 6. `Cookie` headers.
// ===========================================================================

/// The reference reading of `Cookie` headers: `;`-separated parts, each
/// `name=value` at its first `=` (a part without one is skipped), name and
/// value trimmed of whitespace, one pair of surrounding quotes removed from
/// the value.
fn reference_cookies(headers: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for header in headers {
        for part in header.split(';') {
            let Some(eq) = part.find('=') else { continue };
            let name = part[..eq].trim().to_owned();
            let mut value = part[eq + 1..].trim();
            if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                value = &value[1..value.len() - 1];
            }
            out.push((name, value.to_owned()));
        }
    }
    out
}

fn cookie_header() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        "[a-z_.0-9]{0,10}",
        select(vec![
            "sk_session",
            "sk_session.0",
            "sk_session.1",
            "sk_session.01",
            "sk_session.x",
            "sk_session."
        ])
        .prop_map(str::to_owned),
        ".{0,8}",
    ];
    let value = prop_oneof![
        "[A-Za-z0-9_-]{0,20}",
        "\"[A-Za-z0-9_-]{0,10}\"",
        "\"",
        ".{0,10}"
    ];
    prop_oneof![
        3 => proptest::collection::vec(
            (token, value, select(vec!["=", " = ", "==", "\t=\t"]), select(vec!["; ", ";", " ;  ", ";;"])),
            0..8,
        )
        .prop_map(|pairs| pairs.iter().map(|(n, v, eq, sep)| format!("{n}{eq}{v}{sep}")).collect()),
        1 => ".{0,120}",
        1 => "[a-z=; \"\t]{0,60}",
    ]
}

proptest! {
    #![proptest_config(config())]

    /// `RequestCookies::parse` never panics and reads what the reference
    /// reads: `get` returns the first value of each name (borrowed from the
    /// input), and `family` returns names, borrowed from the input, that
    /// are the name or a numbered chunk of it, in order.
    /// Parsing header bytes finds exactly what parsing the same text
    /// finds; in bytes that are not UTF-8 it finds the pairs of the parts
    /// that are, and never panics.
    #[test]
    fn cookie_header_bytes_parse_like_their_text(
        headers in proptest::collection::vec(cookie_header(), 0..4),
        noise in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..3),
    ) {
        let text = scalekit_core::session::RequestCookies::parse(headers.iter().map(String::as_str));
        let bytes = scalekit_core::session::RequestCookies::parse_bytes(headers.iter().map(String::as_bytes));
        prop_assert_eq!(format!("{text:?}"), format!("{bytes:?}"));
        let mut names: Vec<String> = reference_cookies(&headers).into_iter().map(|(n, _)| n).collect();
        names.push("sk_session".to_owned());
        for name in &names {
            prop_assert_eq!(text.get(name), bytes.get(name));
            prop_assert_eq!(text.family(name), bytes.family(name));
        }
        let mut raw: Vec<Vec<u8>> = headers.iter().map(|h| h.as_bytes().to_vec()).collect();
        raw.extend(noise);
        let mixed = scalekit_core::session::RequestCookies::parse_bytes(raw.iter().map(Vec::as_slice));
        for (name, _) in reference_cookies(&headers) {
            // The text headers' pairs are all there (a noise header may
            // add a later pair of the same name, never remove one).
            prop_assert!(mixed.get(&name).is_some(), "{:?}", name);
        }
    }

    #[test]
    fn cookie_headers_parse_like_the_reference(
        headers in proptest::collection::vec(cookie_header(), 0..4),
        probes in proptest::collection::vec(".{0,8}", 0..4),
    ) {
        let cookies = scalekit_core::session::RequestCookies::parse(headers.iter().map(String::as_str));
        let reference = reference_cookies(&headers);
        let mut names: Vec<String> = reference.iter().map(|(n, _)| n.clone()).collect();
        names.extend(probes);
        names.push("sk_session".to_owned());
        for name in &names {
            let expected = reference.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
            let got = cookies.get(name);
            prop_assert_eq!(got, expected, "get({:?})", name);
            if let Some(v) = got {
                prop_assert!(borrowed_from(v, &headers));
            }
            let family = cookies.family(name);
            let expected: Vec<&str> = reference
                .iter()
                .map(|(n, _)| n.as_str())
                .filter(|n| {
                    *n == name
                        || n.strip_prefix(name.as_str())
                            .and_then(|r| r.strip_prefix('.'))
                            .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
                })
                .collect();
            prop_assert_eq!(&family, &expected, "family({:?})", name);
            for n in family {
                prop_assert!(borrowed_from(n, &headers), "{:?} is not from the input", n);
            }
        }
    }
}

fn grant_value() -> impl Strategy<Value = String> {
    select(vec![
        "",
        "*",
        "read",
        "write",
        "admin",
        "admin:read",
        "admin:*",
        "admin:read:*",
        "a:b:c",
        "billing:read",
        "billing:*",
    ])
    .prop_map(str::to_owned)
}

proptest! {
    #![proptest_config(config())]

    /// A guard's check straight from the claims (no copies) decides exactly
    /// as the check of the grants built from them, for every kind of
    /// clause, all-of and any-of, wildcards included.
    #[test]
    fn requirement_checks_agree(
        scopes in proptest::collection::vec(grant_value(), 0..4),
        scp in proptest::collection::vec(grant_value(), 0..3),
        scope in proptest::option::of(proptest::collection::vec(grant_value(), 0..4)),
        permissions in proptest::collection::vec(grant_value(), 0..4),
        roles in proptest::collection::vec(grant_value(), 0..3),
        clauses in proptest::collection::vec(
            (0..4u8, any::<bool>(), proptest::collection::vec(grant_value(), 0..3)),
            1..3,
        ),
    ) {
        use scalekit_core::authz::{GrantKind, Grants, Match, Requirement};
        let claims: scalekit_core::AccessTokenClaims = serde_json::from_value(json!({
            "iss": "https://acme.scalekit.dev", "exp": 4_000_000_000u64, "iat": 1,
            "scopes": scopes,
            "scp": scp,
            "scope": scope.map(|s| s.join(" ")),
            "permissions": permissions,
            "roles": roles,
        }))
        .unwrap();
        let mut requirement: Option<Requirement> = None;
        for (kind, all, values) in clauses {
            let kind = [GrantKind::Scope, GrantKind::Permission, GrantKind::Role, GrantKind::ScopeOrPermission][kind as usize];
            let mode = if all { Match::All } else { Match::Any };
            let clause = Requirement::clause(kind, mode, values);
            requirement = Some(match requirement {
                Some(r) => r.and(clause),
                None => clause,
            });
        }
        let requirement = requirement.unwrap();
        prop_assert_eq!(
            requirement.check_claims(&claims),
            requirement.check(&Grants::from_claims(&claims))
        );
    }
}

/// The MACs `verifier` computed so far: counted with feature `test-util`
/// (which `cargo test --all-features` enables), zero without it.
fn macs(verifier: &scalekit_core::webhook::WebhookVerifier) -> u64 {
    #[cfg(feature = "test-util")]
    let count = verifier.mac_computations();
    #[cfg(not(feature = "test-util"))]
    let count = {
        let _ = verifier;
        0
    };
    count
}
