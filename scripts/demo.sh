#!/usr/bin/env bash
# The demo: start a key server, seal a server-mode message with an attachment
# for a demo recipient, and say how to register, confirm and open it in a browser.
# Everything lives in ./demo; the server keeps running after the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked --release -p securedoc
bin=target/release/securedoc
port="${SECUREDOC_DEMO_PORT:-8080}"
url="http://127.0.0.1:$port"
demo="$(pwd)/demo"
from=alice@clinic.example
to=bob@example.net
mkdir -p "$demo"

# Only the embedded defaults plus the paths below: no database, relay or key
# from the caller's environment, so mail lands in the outbox.
unset DATABASE_URL SECUREDOC_DATABASE_URL SECUREDOC_MASTER_KEY_FILE SECUREDOC_SMTP_URL
export SECUREDOC_LISTEN="127.0.0.1:$port" SECUREDOC_PUBLIC_URL="$url" \
  SECUREDOC_DATA_DIR="$demo/data" SECUREDOC_OUTBOX="$demo/data/outbox"

# A server from an earlier run holds the port and the old data: stop it (only if
# the pid is still a securedoc), so this run starts with no account registered.
if [ -f "$demo/server.pid" ]; then
  old="$(cat "$demo/server.pid")"
  if tr '\0' ' ' <"/proc/$old/cmdline" 2>/dev/null | grep -q 'securedoc serve'; then
    echo "==> stopping the demo key server from an earlier run (pid $old)" >&2
    kill "$old"
    for _ in $(seq 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$demo/server.pid"
fi
rc=0; curl -s -o /dev/null --max-time 2 "$url/" || rc=$?
if [ "$rc" != 7 ]; then
  echo "demo: something else is listening on port $port; set SECUREDOC_DEMO_PORT to a free port" >&2
  exit 1
fi
rm -rf "$demo/data"
mkdir -p "$demo/data/outbox"

# setsid + nohup: the server outlives this script (and the terminal) for the browser.
nohup setsid "$bin" serve >"$demo/server.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$demo/server.pid"
up=no
for _ in $(seq 40); do
  kill -0 "$pid" 2>/dev/null || break
  if curl -sf --max-time 1 "$url/healthz" >/dev/null; then up=yes; break; fi
  sleep 0.5
done
if [ "$up" != yes ]; then
  echo "demo: the key server did not answer on $url/healthz; its log ($demo/server.log) ends:" >&2
  tail -n 20 "$demo/server.log" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
fi

# The sender's token: same data dir as the server (fresh, so the name is free).
(umask 077; "$bin" admin token create --name demo-sender >"$demo/token")

"$bin" seal --key-server "$url" --token-file "$demo/token" \
  --from "$from" --to "$to" \
  --subject "Your test results" \
  --body-file scripts/demo/message.txt --html-file scripts/demo/message.html \
  --attach scripts/demo/test-results.pdf \
  --expires 30d --security medium --read-receipt \
  -o "$demo/securedoc.html" --force 2>"$demo/seal.log" || { cat "$demo/seal.log" >&2; exit 1; }
cat "$demo/seal.log" >&2
message_id="$(sed -n 's/^Message id: \([0-9a-f]*\).*/\1/p' "$demo/seal.log")"

# A second message with pull delivery: kept at the key server, read in the portal.
portal_link="$("$bin" seal --key-server "$url" --token-file "$demo/token" \
  --from "$from" --to "$to" \
  --subject "Your appointment letter" \
  --body-file scripts/demo/message.txt \
  --attach scripts/demo/test-results.pdf \
  --expires 30d --delivery pull 2>>"$demo/seal.log" | grep -o "$url/portal/m/[0-9a-f]*" | head -1)" \
  || { cat "$demo/seal.log" >&2; exit 1; }

echo
"$bin" inspect "$demo/securedoc.html"
cat <<MSG

The key server is running at $url (pid $pid, log demo/server.log; sender token in demo/token).
  Envelope:      file://$demo/securedoc.html  (for $to)
  Registration:  $url/register?email=${to//@/%40}
  Outbox:        $demo/data/outbox/
                 the server's mail, as .eml files: the newest holds the confirmation link
                 (scripts/demo/outbox-link.sh prints it decoded)

In a browser (Chrome, Edge, Firefox or Safari):
  1. Open the envelope and click Register (it opens the registration link above).
  2. Fill in the form: your name, a password, three security questions.
  3. Confirm: open the link in the newest .eml in the outbox, type the password from step 2, click Confirm my address.
  4. Back in the envelope (it now asks for the password by itself), type the password, click Open.
  5. Or, as a recipient whose browser cannot run the envelope would (JavaScript off, a phone's
     preview): click Open Online in the envelope; the key server asks for the password and
     shows the message, its attachment and Save message, for 10 minutes, without any script.
  6. Answer: under the opened message, click Reply (or Reply all, Forward). The key server's
     compose page opens in a new tab; write, attach a file, click Send securely. The reply is
     itself a secure message: its notification, with an envelope for $from, is in the outbox.
  7. As the sender, see the opening and the reply (a read receipt for $from is in the outbox too):
     $bin message status $message_id --key-server $url --token-file demo/token
  8. Pull delivery: a second message waits at the key server instead of travelling as a file.
     Open $portal_link
     and log in as $to with the same password (e-mail first, then the password): the portal
     shows the message, Download attachments (.zip), Save message, and the Inbox at $url/portal.
Its header, without any secret: $bin inspect demo/securedoc.html
Stop the key server:            kill \$(cat demo/server.pid)
MSG
