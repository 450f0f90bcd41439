//! Builds the opener's WebAssembly and embeds it.
//!
//! `cargo build` of anything that renders envelopes runs this: it compiles
//! `envelope-wasm` for `wasm32-unknown-unknown` in a target directory of its
//! own (a nested cargo may not share the outer build's lock), runs the
//! wasm-bindgen step with `wasm-bindgen-cli-support` (the same version as the
//! `wasm-bindgen` crate in Cargo.lock, so the two can never disagree), shrinks
//! the module with `wasm-opt` when binaryen is installed, and gzips it. The
//! results land in OUT_DIR for `include_bytes!`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    for watched in ["envelope-core/src", "envelope-core/Cargo.toml", "envelope-wasm/src", "envelope-wasm/Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=SECUREDOC_WASM_OPT");

    require_wasm_target();
    let wasm = build_wasm(&root);
    let bindgen_dir = out_dir.join("bindgen");
    let _ = std::fs::remove_dir_all(&bindgen_dir);
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .no_modules(true)
        .expect("no-modules output is supported")
        .typescript(false)
        .generate(&bindgen_dir)
        .unwrap_or_else(|e| fail(&format!("the wasm-bindgen step failed: {e:#}")));

    let glue = bindgen_dir.join("envelope_wasm.js");
    let module = bindgen_dir.join("envelope_wasm_bg.wasm");
    let module = optimise(&module, &out_dir);
    let bytes = std::fs::read(&module).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &bytes).unwrap();
    std::fs::write(out_dir.join("opener.wasm.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(out_dir.join("opener.wasm"), &bytes).unwrap();
    std::fs::copy(glue, out_dir.join("opener-glue.js")).unwrap();
}

fn fail(message: &str) -> ! {
    eprintln!("\nerror: {message}\n");
    std::process::exit(1);
}

fn cargo() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The wasm32 standard library must be installed; say how to get it if not.
fn require_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc).args(["--print", "sysroot"]).output().expect("rustc runs");
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    if !Path::new(&sysroot).join("lib/rustlib/wasm32-unknown-unknown").is_dir() {
        fail(
            "the Rust target wasm32-unknown-unknown is not installed, and the envelope's \
             decryptor is built for it.\n       Run `just setup` (or `rustup target add wasm32-unknown-unknown`), then build again.",
        );
    }
}

/// Compiles envelope-wasm with the size-first `wasm` profile.
fn build_wasm(root: &Path) -> PathBuf {
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("opener-wasm");
    let mut command = Command::new(cargo());
    command
        .current_dir(root)
        .args(["build", "--package", "envelope-wasm", "--target", "wasm32-unknown-unknown", "--profile", "wasm"])
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's flags are for the host, not for wasm32.
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER"] {
        command.env_remove(var);
    }
    for (var, _) in env::vars_os() {
        if let Some(var) = var.to_str() {
            if var.starts_with("CARGO_PROFILE_") || var.starts_with("CARGO_FEATURE_") || var == "CARGO_MAKEFLAGS" {
                command.env_remove(var);
            }
        }
    }
    let status = command.status().unwrap_or_else(|e| fail(&format!("could not run cargo for the wasm build: {e}")));
    if !status.success() {
        fail("building envelope-wasm for wasm32-unknown-unknown failed (see above)");
    }
    target_dir.join("wasm32-unknown-unknown/wasm/envelope_wasm.wasm")
}

/// Runs `wasm-opt -Oz` when binaryen is installed (`just setup` installs it);
/// without it the envelope still works, only larger.
fn optimise(module: &Path, out_dir: &Path) -> PathBuf {
    if env::var("SECUREDOC_WASM_OPT").as_deref() == Ok("0") {
        return module.to_path_buf();
    }
    let optimised = out_dir.join("opener-opt.wasm");
    let features = [
        "--enable-bulk-memory", "--enable-sign-ext", "--enable-mutable-globals",
        "--enable-nontrapping-float-to-int", "--enable-reference-types", "--enable-multivalue",
    ];
    match Command::new("wasm-opt").arg("-Oz").args(features).arg(module).arg("-o").arg(&optimised).status() {
        Ok(status) if status.success() => optimised,
        Ok(_) => {
            println!("cargo:warning=wasm-opt failed; the envelope's decryptor is not size-optimised");
            module.to_path_buf()
        }
        Err(_) => {
            println!("cargo:warning=wasm-opt (Debian package binaryen) is not installed; run `just setup` for smaller envelopes");
            module.to_path_buf()
        }
    }
}
