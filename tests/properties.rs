//! Property tests of what wasipack reads from others (issue 13, beside the wasm fuzz target):
//! an OCI layout whose `index.json` and manifests are hostile (digests that name paths,
//! unknown algorithms, wrong lengths; sizes that lie; blobs that are symlinks, directories or
//! FIFOs), and a registry whose answers are (any status, lying lengths, control characters,
//! huge messages, wrong digests, oversized manifests). Whatever comes: no panic, a typed
//! error that renders as one capped line, nothing read outside the layout or beyond what a
//! descriptor lists.
//!
//! Cost: about 2-4 s in a debug build (128 layouts, 2 x 96 loopback exchanges).

use proptest::prelude::*;
use std::io::{Read, Write};
use std::path::Path;
use wasipack::error::Error;
use wasipack::oci::artifact::{wasm_artifact, Blob, Descriptor, WasmSpec};
use wasipack::oci::layout::Layout;
use wasipack::oci::store::Store;
use wasipack::text::printable;

/// What a file outside the layout holds: it must never show in anything read or said.
const SENTINEL: &[u8] = b"SENTINEL-outside-the-layout-7f3a9c";

fn sha256_hex(bytes: &[u8]) -> String {
    wasipack::digest::sha256_hex(bytes)
}

/// The rendered error (as the CLI prints it) is one line of bounded length, and says
/// nothing of the sentinel.
fn assert_one_clean_line(e: &Error, cap: usize) -> String {
    let line = printable(&e.to_string()).into_owned();
    assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
    assert!(!line.contains('\x1b'), "{line}");
    assert!(line.chars().count() <= cap, "{} chars: {line}", line.len());
    assert!(
        !line.contains(std::str::from_utf8(SENTINEL).unwrap()),
        "{line}"
    );
    assert!(!line.contains(&sha256_hex(SENTINEL)), "{line}");
    line
}

// ---------------------------------------------------------------------------------------
// The layout reader.

/// A digest as a hostile `index.json` or manifest may write it.
#[derive(Debug, Clone)]
enum DigestKind {
    /// The right one.
    Right,
    /// A path out of the layout, to the sentinel.
    Outside,
    /// The right hex in upper case.
    Upper,
    /// The right hex, one digit short or long.
    Short,
    Long,
    /// Another algorithm, with or without a registered name.
    Algorithm(&'static str),
    /// Anything at all after `sha256:`.
    Junk(String),
    /// Right, but the blob file is a symlink to the sentinel (sized like it), a directory,
    /// or a FIFO.
    SymlinkOut,
    Dir,
    Fifo,
}

fn digest_kind() -> impl Strategy<Value = DigestKind> {
    prop_oneof![
        3 => Just(DigestKind::Right),
        2 => Just(DigestKind::Outside),
        1 => Just(DigestKind::Upper),
        1 => Just(DigestKind::Short),
        1 => Just(DigestKind::Long),
        1 => prop_oneof![Just("sha512"), Just("md5"), Just("SHA256"), Just("")]
            .prop_map(DigestKind::Algorithm),
        1 => "[a-f0-9./\\\\\n\x1b-]{0,70}".prop_map(DigestKind::Junk),
        1 => Just(DigestKind::SymlinkOut),
        1 => Just(DigestKind::Dir),
        1 => Just(DigestKind::Fifo),
    ]
}

/// A size as JSON text: right, off by one, zero, huge, negative, not an integer.
fn size_text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some("0".to_string())),
        1 => Just(Some("-1".to_string())),
        1 => Just(Some("18446744073709551615".to_string())),
        1 => Just(Some("9223372036854775808".to_string())),
        1 => Just(Some("1e3".to_string())),
        1 => Just(Some("\"12\"".to_string())),
        1 => (0u64..100_000).prop_map(|n| Some(n.to_string())),
    ]
}

/// Writes `digest`'s text and makes the blob it names what `kind` says. `right` is the
/// blob's real digest hex and `dir` the layout.
fn hostile_digest(dir: &Path, right: &str, kind: &DigestKind) -> String {
    let blob = dir.join("blobs/sha256").join(right);
    let replace = |make: &dyn Fn(&Path)| {
        std::fs::remove_file(&blob).unwrap();
        make(&blob);
    };
    match kind {
        DigestKind::Right => format!("sha256:{right}"),
        DigestKind::Outside => "sha256:../../../outside/sentinel".into(),
        DigestKind::Upper => format!("sha256:{}", right.to_uppercase()),
        DigestKind::Short => format!("sha256:{}", &right[1..]),
        DigestKind::Long => format!("sha256:{right}0"),
        DigestKind::Algorithm(a) => format!("{a}:{right}"),
        DigestKind::Junk(j) => format!("sha256:{j}"),
        DigestKind::SymlinkOut => {
            replace(&|p| std::os::unix::fs::symlink("../../../outside/sentinel", p).unwrap());
            format!("sha256:{right}")
        }
        DigestKind::Dir => {
            replace(&|p| std::fs::create_dir(p).unwrap());
            format!("sha256:{right}")
        }
        DigestKind::Fifo => {
            replace(&|p| {
                let status = std::process::Command::new("mkfifo")
                    .arg(p)
                    .status()
                    .unwrap();
                assert!(status.success());
            });
            format!("sha256:{right}")
        }
    }
}

/// The descriptor's JSON with `digest` and `size` (the real size when `None`) spliced in.
fn descriptor_json(media_type: &str, digest: &str, size: &Option<String>, real: u64) -> String {
    format!(
        r#"{{"mediaType":{},"digest":{},"size":{}}}"#,
        serde_json::to_string(media_type).unwrap(),
        serde_json::to_string(digest).unwrap(),
        size.clone().unwrap_or_else(|| real.to_string())
    )
}

#[derive(Debug, Clone)]
struct LayoutCase {
    /// What `index.json` says of the manifest.
    manifest_digest: DigestKind,
    manifest_size: Option<String>,
    /// What the manifest says of its module layer.
    layer_digest: DigestKind,
    layer_size: Option<String>,
}

fn layout_case() -> impl Strategy<Value = LayoutCase> {
    (digest_kind(), size_text(), digest_kind(), size_text()).prop_map(|(md, ms, ld, ls)| {
        LayoutCase {
            manifest_digest: md,
            manifest_size: ms,
            layer_digest: ld,
            layer_size: ls,
        }
    })
}

/// Builds the layout of `case` under `top/layout`, the sentinel at `top/outside/sentinel`.
fn build_layout(top: &Path, case: &LayoutCase) -> Layout {
    std::fs::create_dir_all(top.join("outside")).unwrap();
    std::fs::write(top.join("outside/sentinel"), SENTINEL).unwrap();
    let root = top.join("layout");
    let layout = Layout::create(&root).unwrap();
    // The module is as long as the sentinel, so that a symlink to it has the listed size.
    let mut module = b"\0asm\x01\0\0\0\0".to_vec();
    module.push((SENTINEL.len() - module.len() - 1) as u8);
    module.resize(SENTINEL.len(), b'x');
    let spec = WasmSpec {
        title: "a.wasm".into(),
        os: "wasip1".into(),
        created: "2024-01-01T00:00:00Z".into(),
        ..Default::default()
    };
    let a = wasm_artifact(&Blob::from(module.clone()), &sha256_hex(&module), &spec);
    layout.put_blobs_for_test(&a);
    // The manifest, rewritten to name its layer as the case says.
    let mut manifest: serde_json::Value = serde_json::from_slice(&a.manifest).unwrap();
    let layer_hex = sha256_hex(&module);
    let layer_digest = hostile_digest(&root, &layer_hex, &case.layer_digest);
    let layer = descriptor_json(
        wasipack::oci::artifact::WASM_LAYER,
        &layer_digest,
        &case.layer_size,
        module.len() as u64,
    );
    let layer: serde_json::Value = match serde_json::from_str(&layer) {
        Ok(v) => v,
        // A size that is not JSON at all goes in as a string.
        Err(_) => serde_json::json!({"mediaType": wasipack::oci::artifact::WASM_LAYER,
            "digest": layer_digest, "size": case.layer_size}),
    };
    manifest["layers"] = serde_json::json!([layer]);
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let manifest_hex = sha256_hex(&manifest);
    std::fs::write(root.join("blobs/sha256").join(&manifest_hex), &manifest).unwrap();
    let digest = hostile_digest(&root, &manifest_hex, &case.manifest_digest);
    let mut entry = descriptor_json(
        wasipack::oci::artifact::MANIFEST,
        &digest,
        &case.manifest_size,
        manifest.len() as u64,
    );
    entry.insert_str(
        entry.len() - 1,
        r#","annotations":{"org.opencontainers.image.ref.name":"t"}"#,
    );
    std::fs::write(
        root.join("index.json"),
        format!(r#"{{"schemaVersion":2,"manifests":[{entry}]}}"#),
    )
    .unwrap();
    layout
}

/// Stores `a`'s blobs: the helper the test uses instead of `Layout::add`, which would also
/// list it.
trait PutBlobs {
    fn put_blobs_for_test(&self, a: &wasipack::oci::artifact::Artifact);
}

impl PutBlobs for Layout {
    fn put_blobs_for_test(&self, a: &wasipack::oci::artifact::Artifact) {
        for (d, bytes) in &a.blobs {
            self.put_blob(d, bytes).unwrap();
        }
    }
}

fn check_layout_error(e: &Error) {
    assert!(
        matches!(
            e,
            Error::Input(_) | Error::Integrity(_) | Error::Read { .. } | Error::Registry(_)
        ),
        "an untyped error: {e:?}"
    );
    assert_one_clean_line(e, 1500);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// Reading a hostile layout as pull, push and verify do (resolve the tag, load the
    /// manifest, read each blob) never panics, never reads outside the layout or beyond a
    /// listed size, and fails with a typed one-line error.
    #[test]
    fn a_hostile_layout_is_refused_in_one_line_and_nothing_outside_is_read(case in layout_case()) {
        let top = tempfile::tempdir().unwrap();
        let layout = build_layout(top.path(), &case);
        let store = Store::Layout(layout.clone());
        let resolved = match layout.resolve("t") {
            Ok(r) => r,
            Err(e) => { check_layout_error(&e); return Ok(()); }
        };
        let d = resolved.expect("the index tags its one entry `t`");
        // Reading through the store checks the manifest's digest and size.
        match store.manifest("t") {
            Ok(Some(f)) => {
                prop_assert!(!f.bytes.windows(SENTINEL.len()).any(|w| w == SENTINEL));
                prop_assert_eq!(&f.digest, &d.digest);
            }
            Ok(None) => {}
            Err(e) => check_layout_error(&e),
        }
        let artifact = match store.load_artifact(&d, true) {
            Ok(a) => a,
            Err(e) => { check_layout_error(&e); return Ok(()); }
        };
        prop_assert_eq!(artifact.manifest.len() as u64, d.size);
        for (blob, _) in &artifact.blobs {
            for check in [true, false] {
                match store.blob_bytes(blob, check) {
                    Ok(bytes) => {
                        prop_assert_eq!(bytes.len() as u64, blob.size, "read beyond the listed size");
                        prop_assert!(&bytes[..] != SENTINEL, "read the file outside the layout");
                    }
                    Err(e) => check_layout_error(&e),
                }
            }
        }
        // The blob reader itself, given a descriptor straight from the hostile manifest.
        for blob in wasipack::oci::model::parse_manifest(&artifact.manifest)
            .ok()
            .map(|m| wasipack::oci::model::blobs(&m).unwrap_or_default())
            .unwrap_or_default()
        {
            if let Ok(bytes) = layout.checked_blob(&blob) {
                prop_assert_eq!(bytes.len() as u64, blob.size);
            }
        }
    }

    /// The blob reader, handed any digest text at all (as a caller that skipped the
    /// manifest's checks would), opens nothing outside `blobs/sha256`.
    #[test]
    fn the_blob_reader_opens_nothing_outside_whatever_the_digest(
        digest in prop_oneof![
            Just("sha256:../../outside/sentinel".to_string()),
            Just("sha256:../../../outside/sentinel".to_string()),
            Just("sha256:/etc/hostname".to_string()),
            "sha256:[a-f0-9./]{0,70}",
            "[a-z0-9]{0,8}:[a-f0-9./]{0,70}",
        ],
        size in prop_oneof![Just(SENTINEL.len() as u64), any::<u64>()],
    ) {
        let top = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(top.path().join("outside")).unwrap();
        std::fs::write(top.path().join("outside/sentinel"), SENTINEL).unwrap();
        let layout = Layout::create(&top.path().join("layout")).unwrap();
        let d = Descriptor {
            media_type: wasipack::oci::artifact::WASM_LAYER.into(),
            digest,
            size,
            artifact_type: None,
            annotations: Default::default(),
        };
        for result in [layout.checked_blob(&d), layout.sized_blob(&d)] {
            match result {
                Ok(bytes) => prop_assert!(&bytes[..] != SENTINEL, "read {} outside", d.digest),
                Err(e) => check_layout_error(&e),
            }
        }
        if let Ok(Some(bytes)) = layout.manifest_bytes(&d.digest) {
            prop_assert!(bytes != SENTINEL, "read {} outside", d.digest);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The registry client.

/// One canned answer of the loopback registry.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    /// Added to the body's real length in `Content-Length` (a lie when not 0), or no
    /// `Content-Length` at all (the body ends with the connection).
    length_lie: Option<i64>,
    digest_header: DigestHeader,
    body: Body,
}

#[derive(Debug, Clone)]
enum DigestHeader {
    None,
    Right,
    Wrong,
    Junk(String),
}

#[derive(Debug, Clone)]
enum Body {
    /// The object asked for (the manifest, the blob).
    Right,
    /// A distribution-spec error with this code and message.
    SpecError(String, String),
    /// A message this many characters long, with control characters.
    Huge(usize),
    /// Bytes that are not JSON (nor UTF-8).
    Junk(Vec<u8>),
    /// A manifest just over 4 MiB.
    OverCap,
}

fn answer() -> impl Strategy<Value = Answer> {
    let status = prop_oneof![4 => Just(200u16), 1 => 200u16..600];
    let lie = prop_oneof![3 => Just(Some(0i64)), 1 => Just(None), 1 => (-20i64..20).prop_map(Some)];
    let digest = prop_oneof![
        2 => Just(DigestHeader::Right),
        1 => Just(DigestHeader::None),
        1 => Just(DigestHeader::Wrong),
        1 => "[ -~]{0,80}".prop_map(DigestHeader::Junk),
    ];
    let text = "[a-zA-Z \x00-\x1f\x7f\u{85}\u{2028}\u{202e}]{0,40}";
    let body = prop_oneof![
        3 => Just(Body::Right),
        2 => (text, text).prop_map(|(c, m)| Body::SpecError(c, m)),
        1 => (600usize..20_000).prop_map(Body::Huge),
        1 => proptest::collection::vec(any::<u8>(), 0..300).prop_map(Body::Junk),
        1 => Just(Body::OverCap),
    ];
    (status, lie, digest, body).prop_map(|(status, length_lie, digest_header, body)| Answer {
        status,
        length_lie,
        digest_header,
        body,
    })
}

/// Serves `answer` (for the object `right`) to every request on a loopback port until the
/// returned guard is dropped; returns the port.
fn serve(answer: Answer, right: Vec<u8>, media_type: &'static str) -> (u16, Stop) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = stop.clone();
    let thread = std::thread::spawn(move || {
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok((mut conn, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(2));
                continue;
            };
            conn.set_nonblocking(false).unwrap();
            conn.set_read_timeout(Some(std::time::Duration::from_secs(2)))
                .unwrap();
            // Read the request head; the body (there is none for a GET) is not waited for.
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match conn.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let _ = conn.write_all(&response(&answer, &right, media_type));
        }
    });
    (
        port,
        Stop {
            stop,
            thread: Some(thread),
        },
    )
}

struct Stop {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Stop {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn response(a: &Answer, right: &[u8], media_type: &str) -> Vec<u8> {
    let body: Vec<u8> = match &a.body {
        Body::Right => right.to_vec(),
        Body::SpecError(code, message) => {
            serde_json::to_vec(&serde_json::json!({"errors":[{"code":code,"message":message}]}))
                .unwrap()
        }
        Body::Huge(n) => {
            let message: String = "line\r\n\x1b]0;title\x07FAKE LINE: PASS "
                .chars()
                .cycle()
                .take(*n)
                .collect();
            serde_json::to_vec(&serde_json::json!({"errors":[{"code":"DENIED","message":message}]}))
                .unwrap()
        }
        Body::Junk(bytes) => bytes.clone(),
        Body::OverCap => {
            let mut m = br#"{"schemaVersion":2,"annotations":{"x":""#.to_vec();
            m.resize((4 << 20) + 10, b'a');
            m.extend_from_slice(br#""}}"#);
            m
        }
    };
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", a.status);
    head.push_str(&format!("Content-Type: {media_type}\r\n"));
    match &a.digest_header {
        DigestHeader::None => {}
        DigestHeader::Right => head.push_str(&format!(
            "Docker-Content-Digest: sha256:{}\r\n",
            sha256_hex(&body)
        )),
        DigestHeader::Wrong => head.push_str(&format!(
            "Docker-Content-Digest: sha256:{}\r\n",
            sha256_hex(b"something else")
        )),
        DigestHeader::Junk(j) => head.push_str(&format!("Docker-Content-Digest: {j}\r\n")),
    }
    if let Some(lie) = a.length_lie {
        let length = (body.len() as i64 + lie).max(0);
        head.push_str(&format!("Content-Length: {length}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(&body);
    out
}

fn remote(port: u16) -> wasipack::oci::remote::Remote {
    let reference =
        wasipack::oci::reference::Reference::parse(&format!("127.0.0.1:{port}/prop/repo:t"))
            .unwrap();
    let opts = wasipack::oci::remote::Options {
        retries: 0,
        timeout: std::time::Duration::from_secs(5),
        credential: None,
        ..Default::default()
    };
    wasipack::oci::remote::Remote::connect(&reference, opts).unwrap()
}

fn check_registry_error(e: &Error) {
    assert!(
        matches!(e, Error::Registry(_) | Error::Integrity(_)),
        "an untyped error: {e:?}"
    );
    // A message is capped at 512 characters and a code at 64; escaping may triple them.
    let line = assert_one_clean_line(e, 3000);
    assert!(!line.contains("FAKE LINE: PASS\n"), "{line}");
}

/// No docker config of the machine's: credentials are never looked up there.
fn empty_docker_config() {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    std::env::set_var("DOCKER_CONFIG", dir.path());
}

const MANIFEST: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    /// A manifest GET answered anyhow gives either the manifest, checked against its digest
    /// and under 4 MiB, or a typed error of one escaped, capped line.
    #[test]
    fn any_answer_to_a_manifest_get_is_the_manifest_or_one_clean_line(a in answer()) {
        empty_docker_config();
        let (port, _stop) = serve(a, MANIFEST.to_vec(), "application/vnd.oci.image.manifest.v1+json");
        let r = remote(port);
        let wanted = format!("sha256:{}", sha256_hex(MANIFEST));
        for reference in ["t", wanted.as_str()] {
            match r.get_manifest(reference) {
                Ok(Some(f)) => {
                    prop_assert!(f.bytes.len() as u64 <= wasipack::oci::model::MAX_MANIFEST);
                    prop_assert_eq!(&f.digest, &format!("sha256:{}", sha256_hex(&f.bytes)));
                    if reference == wanted {
                        prop_assert_eq!(&f.bytes[..], MANIFEST);
                    }
                }
                Ok(None) => {}
                Err(e) => check_registry_error(&e),
            }
        }
    }

    /// A blob GET answered anyhow writes at most the listed size, and succeeds only with the
    /// listed bytes.
    #[test]
    fn any_answer_to_a_blob_get_is_the_blob_or_one_clean_line(a in answer()) {
        empty_docker_config();
        let blob = b"the blob's own bytes, forty-some of them".to_vec();
        let (port, _stop) = serve(a, blob.clone(), "application/octet-stream");
        let r = remote(port);
        let d = Descriptor::of("application/octet-stream", &blob);
        let mut sink = Vec::new();
        match r.download(&d, &mut sink) {
            Ok(()) => prop_assert_eq!(&sink, &blob),
            Err(e) => {
                prop_assert!(sink.len() as u64 <= d.size, "wrote {} bytes", sink.len());
                check_registry_error(&e);
            }
        }
    }
}
