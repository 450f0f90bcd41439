// Every way opening can fail, in one table: what the recipient reads (a key
// of the page's language strings, `[opener.errors]` in templates/i18n/) and
// whether they may try again on this page (the envelope stays read, the
// password field stays open).
//
// The key server's refusal kinds are its JSON `error` strings
// (docs/PROTOCOL.md); they can only ever come from the key server. The
// envelope's own failures come from the decryptor. Only those say "damaged or
// altered": a server error or a network failure never does, because it says
// nothing about the bytes of this file.
"use strict";
function securedocRefusals() {
  const server = (text, retry) => ({ text, retry, from: "server" });
  const envelope = (text, retry) => ({ text, retry, from: "envelope" });
  const kinds = {
    // The key server's refusals.
    bad_request: server("bad_request", false),
    rate_limited: server("rate_limited", true),
    busy: server("busy", true),
    not_a_recipient: server("not_a_recipient", false),
    wrong_password: server("wrong_password", true),
    wrong_passcode: server("wrong_passcode", true),
    passcode_expired: server("passcode_expired", true),
    locked: server("locked", true),
    not_remembered: server("not_remembered", true),
    unconfirmed: server("unconfirmed", true),
    disabled: server("disabled", false),
    password_expired: server("password_expired", true),
    gone: server("gone", false),
    message_locked: server("message_locked", true),
    unauthorized: server("server_refused", true),
    forbidden: server("server_refused", true),
    conflict: server("server_refused", true),
    not_found: server("server_refused", true),
    method_not_allowed: server("server_refused", true),
    payload_too_large: server("server_refused", true),
    unsupported_media_type: server("server_refused", true),
    internal: server("server_internal", true),
    // The key server could not be reached, or answered something that is not
    // one of its refusals (a proxy's error page, another program): not the
    // envelope's fault.
    unreachable: server("unreachable", true),
    server_error: server("server_error", true),

    // The envelope itself.
    wrong_passphrase: envelope("wrong_passphrase", true),
    // The key server's answer does not open this envelope's key: it says
    // nothing about the file's bytes either.
    wrong_key: envelope("wrong_key", false),
    kdf_too_weak: envelope("kdf_too_weak", false),
    kdf_too_costly: envelope("kdf_too_costly", false),
    unsupported_version: envelope("unsupported_version", false),
    not_a_message: envelope("not_a_message", false),
    wrong_mode: envelope("damaged", false),
    not_an_envelope: envelope("damaged", false),
    bad_encoding: envelope("damaged", false),
    malformed_header: envelope("damaged", false),
    header_altered: envelope("damaged", false),
    payload_altered: envelope("damaged", false),
    truncated: envelope("damaged", false),
    trailing_data: envelope("damaged", false),
  };
  // Anything else that went wrong on this computer while reading the file
  // shows nothing from it; anything else the key server says is its own
  // trouble, not the envelope's.
  const unknown = { envelope: envelope("damaged", false), server: kinds.server_error };
  return {
    /** The entry for a failure of `kind`, which came from the key server if `fromServer`. */
    get(kind, fromServer) {
      const from = fromServer ? "server" : "envelope";
      return Object.hasOwn(kinds, kind) && kinds[kind].from === from ? kinds[kind] : unknown[from];
    },
  };
}
