//! What the fuzz targets share: how many cases each runs, and inputs made
//! by mutating real samples.
//!
//! Every parser that reads what a Space or a client sends has a target in
//! its own file's tests, named `fuzz_…`: the event-stream reader, the queue
//! messages, the `/info` and `/config` readers, stdio's JSON-RPC lines,
//! file-input values and saved files' URIs, and the config. They are
//! property tests (proptest): `cargo test` runs each for a bounded number
//! of cases; `scripts/fuzz.sh` runs them again and again for a set time
//! with `SPACES_MCP_FUZZ_CASES` cases a round. A case that fails is
//! written to `proptest-regressions/` and replayed first ever after: a
//! crash found becomes a regression test.
//!
//! The seeds are the recorded exchanges in `tests/fixtures/wire`; the
//! mutations are what a hostile or broken peer does to them: bytes flipped,
//! cut, doubled, and tokens that parsers trip on spliced in.

use proptest::prelude::*;
use proptest::test_runner::Config;

/// The cases a target runs: its own default, or `SPACES_MCP_FUZZ_CASES`.
pub(crate) fn cases(default: u32) -> Config {
    let cases = std::env::var("SPACES_MCP_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        // Shrinking a case of a long run can take longer than the run.
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

/// The recorded samples (`tests/fixtures/wire`) whose names contain any of `kinds`.
pub(crate) fn seeds(kinds: &[&str]) -> Vec<&'static [u8]> {
    crate::fixtures::WIRE
        .iter()
        .filter(|(name, _)| kinds.iter().any(|k| name.contains(k)))
        .map(|(_, text)| text.as_bytes())
        .collect()
}

/// Tokens that parsers of JSON, SSE and URIs trip on.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"-1",
    b"1e999",
    b"NaN",
    b"\\u0000",
    b"\n",
    b"\r\n",
    b"\r",
    b"data: ",
    b"event: ",
    b"id: ",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"..",
    b"/",
    b"%2e%2e",
    b"%00",
    b"file=",
    b"http://",
    b"data:",
    b"\"msg\":",
    b"\"process_completed\"",
    b"\"path\":",
    b"\"url\":",
    b"18446744073709551616",
    b"\"\"",
    b"[[[[[[[[",
    b"true",
];

/// One change to a sample.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Cut(usize, usize),
    Double(usize, usize),
    Splice(usize, usize),
    Insert(usize, Vec<u8>),
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
    match mutation {
        Mutation::Flip(i, b) => {
            if !bytes.is_empty() {
                let i = i % bytes.len();
                bytes[i] ^= b | 1;
            }
        }
        Mutation::Cut(i, n) => {
            let start = at(*i, bytes.len());
            let end = (start + n % 64).min(bytes.len());
            bytes.drain(start..end);
        }
        Mutation::Double(i, n) => {
            let start = at(*i, bytes.len());
            let end = (start + n % 256).min(bytes.len());
            let piece = bytes[start..end].to_vec();
            bytes.splice(end..end, piece);
        }
        Mutation::Splice(i, t) => {
            let start = at(*i, bytes.len());
            let token = TOKENS[t % TOKENS.len()];
            bytes.splice(start..start, token.iter().copied());
        }
        Mutation::Insert(i, more) => {
            let start = at(*i, bytes.len());
            bytes.splice(start..start, more.iter().copied());
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, n)| Mutation::Cut(i, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, n)| Mutation::Double(i, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, t)| Mutation::Splice(i, t)),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 0..16)
        )
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
    ]
}

/// One of `seeds`, changed up to eight times (or left as it is).
pub(crate) fn mutated(seeds: Vec<&'static [u8]>) -> impl Strategy<Value = Vec<u8>> {
    assert!(!seeds.is_empty(), "a fuzz target without seeds");
    (
        proptest::sample::select(seeds),
        proptest::collection::vec(mutation(), 0..8),
    )
        .prop_map(|(seed, mutations)| {
            let mut bytes = seed.to_vec();
            for m in &mutations {
                apply(&mut bytes, m);
            }
            bytes
        })
}

/// Mutated samples as text (lossy where a mutation broke UTF-8).
pub(crate) fn mutated_text(seeds: Vec<&'static [u8]>) -> impl Strategy<Value = String> {
    mutated(seeds).prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}
