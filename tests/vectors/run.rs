//! Every file in `tests/vectors/` through both openers: the native one
//! (envelope-core) and the WebAssembly one embedded in every securedoc.html
//! (run by Node.js through `wasm-runner.cjs`, the way the page calls it).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use securedoc_suites::vectors::{native_outcome, read_vectors, vectors_dir, Outcome, Vector};

/// The page's slice size (4 Mi characters), and a small one so that vectors
/// are also read in many slices.
const SLICES: [usize; 2] = [4 << 20, 4096];

/// The format v2 vectors (`tests/vectors/`, made by the generator) and the
/// frozen format v1 ones (`tests/vectors/v1/`, sealed by the v1 release:
/// every opener must keep opening them).
fn vectors() -> Vec<Vector> {
    let mut all = read_vectors(&vectors_dir()).unwrap_or_else(|e| panic!("{e}"));
    let v1 = read_vectors(&vectors_dir().join("v1")).unwrap_or_else(|e| panic!("{e}"));
    assert!(v1.len() >= 25, "the v1 vectors are missing");
    all.extend(v1.into_iter().map(|v| Vector {
        name: format!("v1/{}", v.name),
        ..v
    }));
    all
}

fn report(path: &str, failures: Vec<String>, total: usize) {
    assert!(
        failures.is_empty(),
        "{} checks failed on the {path} path ({total} vectors):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn there_are_enough_vectors_and_most_are_failures() {
    let vectors = vectors();
    assert!(
        vectors.len() >= 25,
        "only {} vector files in {}",
        vectors.len(),
        vectors_dir().display()
    );
    let failures = vectors.iter().filter(|v| v.expect != "success").count();
    assert!(
        failures * 2 > vectors.len(),
        "only {failures} of {} vectors are failure cases",
        vectors.len()
    );
}

#[test]
fn native_opener_matches_every_vector() {
    let vectors = vectors();
    // Argon2id runs for most vectors; spread them over the cores.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = vectors
            .iter()
            .map(|v| {
                scope.spawn(move || {
                    v.check(&native_outcome(&v.text, &v.passphrase))
                        .map_err(|p| format!("{}: {p}", v.name))
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("no panic").err())
            .collect()
    });
    report("native", failures, vectors.len());
}

/// Runs `runner` (a Node.js script in `tests/vectors/`) over every vector and
/// returns its outcomes by vector name and slice size (0: the bytes path).
fn run_in_node(runner: &str, vectors: &[Vector]) -> HashMap<(String, u64), Outcome> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let glue = dir.path().join("opener-glue.js");
    let wasm = dir.path().join("opener.wasm");
    let input = dir.path().join("input.json");
    std::fs::write(&glue, securedoc_templates::OPENER_GLUE).unwrap();
    std::fs::write(&wasm, securedoc_templates::OPENER_WASM).unwrap();
    let listed: Vec<_> = vectors
        .iter()
        .map(|v| serde_json::json!({ "name": v.name, "passphrase": v.passphrase, "text": v.text }))
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let request = serde_json::json!({
        "glue": glue,
        "wasm": wasm,
        "envelope_bytes": root.join("../templates/envelope/envelope-bytes.js"),
        "slices": SLICES,
        "vectors": listed,
    });
    std::fs::write(&input, serde_json::to_vec(&request).unwrap()).unwrap();

    let runner = root.join("vectors").join(runner);
    let output = Command::new("node").arg(&runner).arg(&input).output().unwrap_or_else(|e| {
        panic!(
            "cannot run `node` ({e}). Node.js (18 or newer) is required to test the WebAssembly opener; \
             install it (e.g. `apt-get install nodejs`) and run the tests again"
        )
    });
    assert!(
        output.status.success(),
        "{} failed ({}):\n{}",
        runner.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "the runner's output is not JSON ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        });
    let text = |r: &serde_json::Value, key: &str| r[key].as_str().map(String::from);
    results
        .iter()
        .map(|r| {
            let outcome = Outcome {
                header_kind: text(r, "header_kind"),
                kind: text(r, "kind").unwrap_or_default(),
                sha256: text(r, "sha256"),
                message: text(r, "message"),
            };
            let key = (
                text(r, "name").unwrap_or_default(),
                r["slice"].as_u64().unwrap_or_default(),
            );
            (key, outcome)
        })
        .collect()
}

fn check_outcomes(
    path: &str,
    vectors: &[Vector],
    outcomes: &HashMap<(String, u64), Outcome>,
    slices: &[usize],
) {
    let mut failures = Vec::new();
    for v in vectors {
        for &slice in slices {
            let how = if slice == 0 {
                "bytes decoded by the browser".to_string()
            } else {
                format!("slices of {slice} chars")
            };
            match outcomes.get(&(v.name.clone(), slice as u64)) {
                None => failures.push(format!("{} ({how}): the runner gave no result", v.name)),
                Some(outcome) => {
                    if let Err(problem) = v.check(outcome) {
                        failures.push(format!("{} ({how}): {problem}", v.name));
                    }
                }
            }
        }
    }
    report(path, failures, vectors.len());
}

/// What the envelope's opener must do with each vector. It carries no MIME
/// parser (docs/OPENER.md): a format 1 envelope is checked and decrypted
/// exactly as natively and gives its message back byte for byte (`eml`), but
/// showing it is the v1 opener's job, which every v1 page carries, so
/// `message_json` says `unsupported_version`.
fn as_the_opener_sees_them(vectors: Vec<Vector>) -> Vec<Vector> {
    vectors
        .into_iter()
        .map(|v| {
            if v.name.starts_with("v1/") && v.expect == "success" {
                Vector {
                    message: Some("unsupported_version".into()),
                    ..v
                }
            } else {
                v
            }
        })
        .collect()
}

#[test]
fn webassembly_opener_matches_every_vector() {
    let vectors = as_the_opener_sees_them(vectors());
    let outcomes = run_in_node("wasm-runner.cjs", &vectors);
    check_outcomes("WebAssembly", &vectors, &outcomes, &SLICES);
}

/// The page's other way in: Chromium decodes the text (`Uint8Array.fromBase64`
/// through the page's own envelope-bytes.js) and the WebAssembly takes bytes.
#[test]
fn browser_decoded_bytes_match_every_vector() {
    let vectors = as_the_opener_sees_them(vectors());
    let outcomes = run_in_node("browser-runner.mjs", &vectors);
    check_outcomes("browser-decoded", &vectors, &outcomes, &[0]);
}
