//! Recorded Gradio exchanges for the unit tests, built into the test binary
//! so that the tests need nothing beside the repository. The transcripts were
//! captured from a real Gradio 6.31 server (see tests/fixtures/wire). The
//! fuzz targets start from them too (`fuzzing`).

/// Every transcript of tests/fixtures/wire, by file name.
pub(crate) const WIRE: &[(&str, &str)] = &[
    (
        "call-audio-complete.txt",
        include_str!("../tests/fixtures/wire/call-audio-complete.txt"),
    ),
    (
        "call-bad-body.txt",
        include_str!("../tests/fixtures/wire/call-bad-body.txt"),
    ),
    (
        "call-generator-stream.txt",
        include_str!("../tests/fixtures/wire/call-generator-stream.txt"),
    ),
    (
        "call-gr-error.txt",
        include_str!("../tests/fixtures/wire/call-gr-error.txt"),
    ),
    (
        "call-image-complete.txt",
        include_str!("../tests/fixtures/wire/call-image-complete.txt"),
    ),
    (
        "call-partial-data-error.txt",
        include_str!("../tests/fixtures/wire/call-partial-data-error.txt"),
    ),
    (
        "call-slow-heartbeat.txt",
        include_str!("../tests/fixtures/wire/call-slow-heartbeat.txt"),
    ),
    (
        "call-unknown-api.txt",
        include_str!("../tests/fixtures/wire/call-unknown-api.txt"),
    ),
    (
        "call-unknown-event.txt",
        include_str!("../tests/fixtures/wire/call-unknown-event.txt"),
    ),
    (
        "dia-like.info.json",
        include_str!("../tests/fixtures/wire/dia-like.info.json"),
    ),
    (
        "file-download-headers.txt",
        include_str!("../tests/fixtures/wire/file-download-headers.txt"),
    ),
    (
        "queue-cancel.txt",
        include_str!("../tests/fixtures/wire/queue-cancel.txt"),
    ),
    (
        "queue-gr-error.txt",
        include_str!("../tests/fixtures/wire/queue-gr-error.txt"),
    ),
    (
        "queue-progress-complete.txt",
        include_str!("../tests/fixtures/wire/queue-progress-complete.txt"),
    ),
    (
        "sanasprint-like.config.json",
        include_str!("../tests/fixtures/wire/sanasprint-like.config.json"),
    ),
    (
        "sanasprint-like.info.json",
        include_str!("../tests/fixtures/wire/sanasprint-like.info.json"),
    ),
    (
        "upload.txt",
        include_str!("../tests/fixtures/wire/upload.txt"),
    ),
];

/// The transcript `name` of tests/fixtures/wire.
pub(crate) fn wire(name: &str) -> &'static str {
    match WIRE.iter().find(|(n, _)| *n == name) {
        Some((_, text)) => text,
        None => panic!("no recorded transcript {name} in tests/fixtures/wire"),
    }
}
