#!/usr/bin/env bash
# Installs everything the demo, the tests and the benchmark need, idempotently.
# Safe to run again: each step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }

# Debian packages: Chromium for the browser tests, age for the benchmark's peer.
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v age >/dev/null 2>&1 || need_apt+=(age)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)   # the demo waits for the key server with it
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip) # the portal's browser test lists its .zip
# Postfix and swaks for the mail hook's tests: the tests run their own Postfix
# from a config in a temporary directory, never the machine's.
[ -x /usr/sbin/postfix ] || need_apt+=(postfix)
command -v swaks >/dev/null 2>&1 || need_apt+=(swaks)

if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # Postfix installed with no configuration of its own: it does not start,
  # and takes no mail for this machine.
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# rust-toolchain.toml pins the Rust release by number. A machine whose
# "stable" toolchain is that release has it only under the name "stable", and
# rustup would try to download it again under its number: give it that name.
pinned="$(sed -n 's/^channel = "\(.*\)"$/\1/p' rust-toolchain.toml)"
host="$(rustc +stable -vV | sed -n 's/^host: //p')"
toolchains="${RUSTUP_HOME:-$HOME/.rustup}/toolchains"
if [ -n "$pinned" ] && [ ! -e "$toolchains/$pinned-$host" ] \
  && [ "$(rustc +stable --version | cut -d' ' -f2)" = "$pinned" ]; then
  say "naming the stable toolchain $pinned (pinned in rust-toolchain.toml)"
  ln -s "stable-$host" "$toolchains/$pinned-$host"
fi
# Any other machine installs the pinned release with what the build needs.
if [ -n "$pinned" ] && [ ! -e "$toolchains/$pinned-$host" ]; then
  say "installing the Rust toolchain $pinned (pinned in rust-toolchain.toml)"
  rustup toolchain install "$pinned" --profile minimal \
    --component rustfmt,clippy,rust-src --target wasm32-unknown-unknown
fi

# The wasm32 target for the embedded decryptor.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the Rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The standard library's source: the decryptor's build rebuilds std for size
# (see templates/build.rs); without it the envelope works but is larger.
if ! rustup component list --installed | grep -qx rust-src; then
  say "adding the Rust component rust-src"
  rustup component add rust-src
fi

# just, from PyPI.
if ! command -v just >/dev/null 2>&1; then
  say "installing just (PyPI: rust-just)"
  python3 -m pip install --quiet rust-just
fi

# Node packages for the browser tests and the benchmark (playwright-core drives
# Debian's Chromium; it never downloads a browser of its own), and the
# JavaScript's linter and formatter (eslint, prettier).
# StatiCrypt and PageCrypt are the benchmark's peers for passphrase mode.
need_npm=0
for package in playwright-core eslint prettier staticrypt pagecrypt; do
  [ -d "tests/browser/node_modules/$package" ] || need_npm=1
done
if [ "$need_npm" = 1 ]; then
  say "installing the browser-test packages (npm ci)"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
say "set-up complete"
