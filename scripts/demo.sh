#!/usr/bin/env bash
# The demo: seal a sample message with an attachment and say how to open it.
# (Passphrase mode, no key server: the envelope opens from disk in any browser.)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked --release -p securedoc
bin=target/release/securedoc
mkdir -p demo
passphrase="correct horse battery staple"
printf '%s\n' "$passphrase" > demo/passphrase.txt
chmod 600 demo/passphrase.txt

"$bin" seal \
  --from alice@clinic.example --to bob@example.net \
  --subject "Your test results" \
  --body-file scripts/demo/message.txt --html-file scripts/demo/message.html \
  --attach scripts/demo/test-results.pdf \
  --expires 30d \
  --passphrase-file demo/passphrase.txt \
  -o demo/securedoc.html --force

echo
"$bin" inspect demo/securedoc.html
cat <<MSG

The envelope is ready: $(pwd)/demo/securedoc.html
  Open it:     double-click it, or open file://$(pwd)/demo/securedoc.html in Chrome, Edge, Firefox or Safari
  Passphrase:  $passphrase
  Or natively: $bin open demo/securedoc.html --passphrase-file demo/passphrase.txt -o demo/message.eml
MSG
