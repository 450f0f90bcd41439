//! Builds the opener's WebAssembly and the compressed bundle every envelope carries.
//!
//! `cargo build` of anything that renders envelopes runs this: it compiles
//! `envelope-wasm` for `wasm32-unknown-unknown` in a target directory of its
//! own (a nested cargo may not share the outer build's lock), runs the
//! wasm-bindgen step with `wasm-bindgen-cli-support` (the same version as the
//! `wasm-bindgen` crate in Cargo.lock, so the two can never disagree), and
//! packs the opener's JavaScript and the module into one gzip stream, made with
//! zopfli: every byte of it ships in every envelope, and the browser's own
//! `DecompressionStream` unpacks it. (wasm-opt is not used: measured, it made
//! the gzipped module larger.)

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    for watched in [
        "envelope-core/src",
        "envelope-core/Cargo.toml",
        "envelope-wasm/src",
        "envelope-wasm/Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    for script in OPENER_SCRIPTS {
        println!(
            "cargo:rerun-if-changed={}",
            manifest_dir.join(script).display()
        );
    }

    let sysroot = require_wasm_target();
    // One opener per mode: each envelope carries only what its mode needs
    // (Argon2id for a passphrase, HPKE for a key server).
    for mode in ["passphrase", "server"] {
        let wasm = build_wasm(&root, &sysroot, mode, &out_dir);
        let bindgen_dir = out_dir.join(format!("bindgen-{mode}"));
        let _ = std::fs::remove_dir_all(&bindgen_dir);
        wasm_bindgen_cli_support::Bindgen::new()
            .input_path(&wasm)
            .no_modules(true)
            .expect("no-modules output is supported")
            .typescript(false)
            .generate(&bindgen_dir)
            .unwrap_or_else(|e| fail(&format!("the wasm-bindgen step failed: {e:#}")));
        let glue = std::fs::read_to_string(bindgen_dir.join(format!("{mode}.js"))).unwrap();
        let module = std::fs::read(bindgen_dir.join(format!("{mode}_bg.wasm"))).unwrap();
        write_bundle(&manifest_dir, &out_dir, mode, &glue, &module);
    }
}

/// Packs glue, opener scripts and module into `opener-<mode>-bundle.gz`, and
/// keeps the parts beside it for the page's hashes and for tests.
fn write_bundle(manifest_dir: &Path, out_dir: &Path, mode: &str, glue: &str, module: &[u8]) {
    let mut script = glue.to_string();
    for path in OPENER_SCRIPTS {
        script.push('\n');
        script.push_str(&std::fs::read_to_string(manifest_dir.join(path)).unwrap());
    }
    // The bundle: script length (u32 little-endian), script (UTF-8), module.
    let mut bundle = Vec::with_capacity(4 + script.len() + module.len());
    bundle.extend_from_slice(&(script.len() as u32).to_le_bytes());
    bundle.extend_from_slice(script.as_bytes());
    bundle.extend_from_slice(module);
    let mut gz = Vec::new();
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        bundle.as_slice(),
        &mut gz,
    )
    .unwrap();
    std::fs::write(out_dir.join(format!("opener-{mode}-bundle.gz")), gz).unwrap();
    std::fs::write(out_dir.join(format!("opener-{mode}-script.js")), script).unwrap();
    std::fs::write(out_dir.join(format!("opener-{mode}.wasm")), module).unwrap();
    std::fs::write(out_dir.join(format!("opener-{mode}-glue.js")), glue).unwrap();
}

/// The opener's own scripts, joined after the wasm-bindgen glue. Each defines
/// one function and runs nothing but `main.js`, which hands each part what it
/// needs: the order does not matter.
const OPENER_SCRIPTS: [&str; 7] = [
    "envelope/decryptor.js",
    "envelope/envelope-bytes.js",
    "envelope/prepare-html.js",
    "envelope/refusals.js",
    "envelope/remember.js",
    "envelope/opener.js",
    "envelope/main.js",
];

fn fail(message: &str) -> ! {
    eprintln!("\nerror: {message}\n");
    std::process::exit(1);
}

fn cargo() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The wasm32 standard library must be installed; say how to get it if not.
fn require_wasm_target() -> PathBuf {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc runs");
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    if !Path::new(&sysroot)
        .join("lib/rustlib/wasm32-unknown-unknown")
        .is_dir()
    {
        fail(
            "the Rust target wasm32-unknown-unknown is not installed, and the envelope's \
             decryptor is built for it.\n       Run `just setup` (or `rustup target add wasm32-unknown-unknown`), then build again.",
        );
    }
    PathBuf::from(sysroot)
}

/// Compiles envelope-wasm with the size-first `wasm` profile.
///
/// Every byte of the module ships in every envelope, so when the toolchain's
/// `rust-src` component is installed (`just setup` adds it) the standard
/// library is rebuilt for size as well: `optimize_for_size`, panics that abort
/// without formatting, no panic locations, no `Debug` formatting. These are
/// unstable options, enabled for this one nested build with RUSTC_BOOTSTRAP;
/// measured, they take about a sixth off the gzipped module. If that build
/// fails (a toolchain that changed the options), the ordinary build is used,
/// with a warning: the envelope works the same, only larger.
fn build_wasm(root: &Path, sysroot: &Path, mode: &str, out_dir: &Path) -> PathBuf {
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let rust_src = sysroot.join("lib/rustlib/src/rust/library/std").is_dir();
    println!("cargo:rerun-if-env-changed=SECUREDOC_WASM_BUILD_STD");
    if rust_src && env::var("SECUREDOC_WASM_BUILD_STD").as_deref() != Ok("0") {
        let dir = target_dir.join("opener-wasm-small");
        let mut command = wasm_build_command(root, &dir, mode);
        command
            .args([
                "-Zbuild-std=std,panic_abort",
                "-Zbuild-std-features=optimize_for_size",
            ])
            .env("RUSTC_BOOTSTRAP", "1")
            .env(
                "CARGO_ENCODED_RUSTFLAGS",
                [
                    "-Zunstable-options",
                    "-Cpanic=immediate-abort",
                    "-Zlocation-detail=none",
                    "-Zfmt-debug=none",
                ]
                .join("\x1f"),
            );
        if command.status().is_ok_and(|status| status.success()) {
            return take_module(&dir, mode, out_dir);
        }
        println!("cargo:warning=the size-optimised build of the envelope's decryptor failed; using the ordinary build (envelopes will be larger)");
    } else {
        println!("cargo:warning=rust-src is not installed: the envelope's decryptor is built without size optimisation of the standard library; run `just setup` for smaller envelopes");
    }
    let dir = target_dir.join("opener-wasm");
    let status = wasm_build_command(root, &dir, mode)
        .status()
        .unwrap_or_else(|e| fail(&format!("could not run cargo for the wasm build: {e}")));
    if !status.success() {
        fail("building envelope-wasm for wasm32-unknown-unknown failed (see above)");
    }
    take_module(&dir, mode, out_dir)
}

/// Copies the module just built out of the shared target directory (the next
/// mode's build writes to the same path), named after its mode.
fn take_module(target_dir: &Path, mode: &str, out_dir: &Path) -> PathBuf {
    let built = target_dir.join("wasm32-unknown-unknown/wasm/envelope_wasm.wasm");
    let kept = out_dir.join(format!("{mode}.wasm"));
    std::fs::copy(&built, &kept)
        .unwrap_or_else(|e| fail(&format!("cannot copy {}: {e}", built.display())));
    kept
}

/// `cargo build` of envelope-wasm for wasm32 into `target_dir`, with none of
/// the outer build's host settings.
fn wasm_build_command(root: &Path, target_dir: &Path, mode: &str) -> Command {
    let mut command = Command::new(cargo());
    command
        .current_dir(root)
        .args([
            "build",
            "--package",
            "envelope-wasm",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm",
            "--no-default-features",
            "--features",
            // Without `v1`: the opener shows format 2 messages only, and
            // carries no MIME parser (docs/OPENER.md, "What the opener carries").
            mode,
        ])
        .arg("--target-dir")
        .arg(target_dir);
    // The outer build's flags are for the host, not for wasm32.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_BOOTSTRAP",
    ] {
        command.env_remove(var);
    }
    for (var, _) in env::vars_os() {
        if let Some(var) = var.to_str() {
            if var.starts_with("CARGO_PROFILE_")
                || var.starts_with("CARGO_FEATURE_")
                || var == "CARGO_MAKEFLAGS"
            {
                command.env_remove(var);
            }
        }
    }
    command
}
