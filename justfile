# securedoc's recipes. The README names two: `just demo` and `just test`.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Install everything the demo, tests and benchmark need (idempotent).
setup:
    scripts/setup.sh

# Start a key server on the embedded defaults, seal a server-mode envelope with an
# attachment for a demo recipient, and print the envelope, the registration link and the outbox.
demo: setup
    scripts/demo.sh

# Everything CI checks: format, lints (Rust and JavaScript), the wasm32 build of envelope-core, all tests
# (the key server's store tests run on SQLite and on a local PostgreSQL, started here).
test: setup
    cargo fmt --all -- --check
    cargo build --locked --workspace
    cargo clippy --locked --workspace --all-targets -- -D warnings
    cargo build --locked -p envelope-core --target wasm32-unknown-unknown
    url="$(scripts/postgres.sh)"; SECUREDOC_TEST_POSTGRES_URL="$url" cargo test --locked --workspace
    cd tests/browser && npm run --silent lint
    url="$(scripts/postgres.sh)"; cd tests/browser && SECUREDOC_TEST_POSTGRES_URL="$url" SECUREDOC_BIN="{{justfile_directory()}}/target/debug/securedoc" npm test

# Seal and open time, envelope overhead and browser memory, side by side with age;
# then key release under load against the Argon2id bound; then the portal: a
# 10,000-message Inbox (page p50/p99) and 20 sessions reading 1 MB messages for 20 s.
bench: setup
    cargo build --locked --release -p securedoc
    node tests/browser/bench/bench.mjs
    node tests/browser/bench/open-online.mjs
    cargo run --locked --release -q -p key-server --example release-load
    cargo run --locked --release -q -p key-server --example portal-load

# The mail hook behind a real Postfix: 500 messages of 100 KB through Postfix
# alone, then through Postfix and the hook (each sealed for one recipient).
bench-hook: setup
    cargo build --locked --release -p securedoc --bins --example bench_hook
    SECUREDOC_BIN="{{justfile_directory()}}/target/release/securedoc" target/release/examples/bench_hook

# Installs what fuzzing needs: nightly with the wasm32 target and rust-src (the
# key-server target builds the opener), and cargo-fuzz. See fuzz/README.md.
# Run each fuzz target for SECONDS (default 60), one after another (not in CI).
fuzz SECONDS="60":
    rustup toolchain install nightly --profile minimal --component rust-src --target wasm32-unknown-unknown
    command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
    cd fuzz && for target in $(cargo +nightly fuzz list); do \
        mkdir -p corpus/$target; \
        cargo +nightly fuzz run -O $target corpus/$target seeds/$target -- -max_total_time={{SECONDS}} -print_final_stats=1 || exit 1; \
    done
