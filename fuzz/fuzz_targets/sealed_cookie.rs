//! Sealed cookies and chunk reassembly: random values and `Cookie` headers
//! never open; a sealed value or chunk set mutated opens only when the
//! mutation left it unchanged, and then to the original plaintext.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use scalekit_core::session::{CookieCodec, RequestCookies};
use scalekit_fuzz::mutate;

const NAME: &str = "sk_session";

struct Fixture {
    codec: CookieCodec,
    plaintext: Vec<u8>,
    single: String,
    chunks: Vec<(String, String)>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let codec = CookieCodec::new(["a secret of at least thirty-two bytes, for fuzzing"])
            .expect("codec");
        let plaintext: Vec<u8> = (0..9000u32).map(|i| (i * 7) as u8).collect();
        let single = codec.seal(NAME, b"{\"id\":\"ses_1\"}").expect("seal");
        let chunks = codec.seal_chunked(NAME, &plaintext).expect("seal");
        assert!(chunks.len() > 1);
        Fixture {
            codec,
            plaintext,
            single,
            chunks,
        }
    })
}

#[derive(Debug, Arbitrary)]
enum Input<'a> {
    /// A value for `open`, and `Cookie` headers for `open_chunked`.
    Raw(&'a str, Vec<&'a str>),
    /// The sealed value mutated.
    Mutated(Vec<(u16, u8)>),
    /// The chunks mutated (chunk index, edits), reordered, some dropped,
    /// with extra cookies in front.
    Chunks {
        edits: Vec<(u8, Vec<(u16, u8)>)>,
        order: Vec<u8>,
        prefix: &'a str,
    },
}

fuzz_target!(|input: Input<'_>| {
    let f = fixture();
    match input {
        Input::Raw(value, headers) => {
            assert!(f.codec.open(NAME, value).is_err());
            let cookies = RequestCookies::parse(headers.iter().copied());
            assert!(!matches!(f.codec.open_chunked(NAME, &cookies), Ok(Some(_))));
        }
        Input::Mutated(edits) => {
            let mutated = mutate(&f.single, &edits);
            let opened = f.codec.open(NAME, &mutated);
            assert!(opened.is_err() || mutated == f.single, "{mutated}");
        }
        Input::Chunks {
            edits,
            order,
            prefix,
        } => {
            let mut chunks = f.chunks.clone();
            for (i, e) in &edits {
                let n = chunks.len();
                let chunk = &mut chunks[usize::from(*i) % n].1;
                *chunk = mutate(chunk, e);
            }
            let layout: Vec<&(String, String)> = if order.is_empty() {
                chunks.iter().collect()
            } else {
                order
                    .iter()
                    .map(|i| &chunks[usize::from(*i) % chunks.len()])
                    .collect()
            };
            let mut header = prefix.to_owned();
            for (n, v) in &layout {
                header.push_str(&format!("; {n}={v}"));
            }
            let cookies = RequestCookies::parse([header.as_str()]);
            // What the request carries, as the cookies parsed say.
            let mut reassembled = String::new();
            match cookies.get(NAME) {
                Some(v) => reassembled.push_str(v),
                None => {
                    for i in 0..scalekit_core::session::DEFAULT_MAX_CHUNKS {
                        match cookies.get(&format!("{NAME}.{i}")) {
                            Some(v) => reassembled.push_str(v),
                            None => break,
                        }
                    }
                }
            }
            let sealed: String = f.chunks.iter().map(|(_, v)| v.as_str()).collect();
            if let Ok(Some(p)) = f.codec.open_chunked(NAME, &cookies) {
                assert_eq!(p, f.plaintext);
                assert_eq!(reassembled, sealed);
            }
        }
    }
});
