#!/usr/bin/env bash
# Prints the links in the demo key server's newest mail (confirmation or reset),
# decoded: the raw .eml is quoted-printable, so its links are split and escaped.
set -euo pipefail
cd "$(dirname "$0")/../.."

outbox="${1:-demo/data/outbox}"
newest="$(ls -t "$outbox"/*.eml 2>/dev/null | head -n 1 || true)"
if [ -z "$newest" ]; then
  echo "no mail in $outbox yet: register first (the server writes the confirmation e-mail there)" >&2
  exit 1
fi
echo "$newest:" >&2
python3 - "$newest" <<'PY'
import email, email.policy, re, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
text = msg.get_body(preferencelist=("plain",)).get_content()
print("\n".join(dict.fromkeys(re.findall(r"https?://\S+", text))))
PY
