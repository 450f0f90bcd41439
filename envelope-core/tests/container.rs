//! Format v2 payloads over a corpus of real-world-shaped messages: the
//! original comes back byte for byte, the view equals what parsing the
//! original gives, and attachments are carried as bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use envelope_core::{pack, Container, MessageView};

/// Some bytes that do not compress and are not text.
fn binary(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Base64 in lines of `line` characters, each ended by `eol`.
fn wrapped(bytes: &[u8], line: usize, eol: &str) -> String {
    let text = STANDARD.encode(bytes);
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(line) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push_str(eol);
    }
    out
}

fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

struct Case {
    name: &'static str,
    eml: Vec<u8>,
    /// Bytes of attachments that must be carried decoded (not as base64).
    carried_as_bytes: usize,
}

fn corpus() -> Vec<Case> {
    let pdf = binary(200_000, 1);
    let png = binary(30_000, 2);
    let jpg = binary(45_000, 3);
    let zip = binary(70_001, 4);
    let mut cases = Vec::new();

    cases.push(Case {
        name: "Outlook: alternative, quoted-printable, CRLF",
        eml: crlf(concat!(
            "From: =?iso-8859-1?Q?Ren=E9e_Dupr=E9?= <renee@clinic.example>\n",
            "To: \"Bob\" <bob@partner.example>, carol@partner.example\n",
            "Cc: dave@partner.example\n",
            "Subject: =?utf-8?B?UsOpc3VsdGF0cyBkZSBsYWJvcmF0b2lyZQ==?=\n",
            "Date: Tue, 17 Nov 2026 09:12:44 +0100\n",
            "Message-ID: <AM0PR01MB1234@eurprd01.prod.outlook.com>\n",
            "MIME-Version: 1.0\n",
            "Content-Type: multipart/alternative;\n\tboundary=\"_000_AM0PR01MB1234_\"\n\n",
            "--_000_AM0PR01MB1234_\n",
            "Content-Type: text/plain; charset=\"iso-8859-1\"\n",
            "Content-Transfer-Encoding: quoted-printable\n\n",
            "Bonjour, voici les r=E9sultats. Une ligne tr=E8s longue qui d=E9passe la lim=\nite de soixante-seize caract=E8res.\n\n",
            "--_000_AM0PR01MB1234_\n",
            "Content-Type: text/html; charset=\"iso-8859-1\"\n",
            "Content-Transfer-Encoding: quoted-printable\n\n",
            "<html><body><p>Bonjour, voici les r=E9sultats.</p></body></html>\n\n",
            "--_000_AM0PR01MB1234_--\n",
        ))
        .into_bytes(),
        carried_as_bytes: 0,
    });

    let related = format!(
        concat!(
            "From: alice@clinic.example\nTo: bob@partner.example\nSubject: Newsletter\n",
            "Date: Wed, 18 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\n",
            "Content-Type: multipart/related; type=\"text/html\"; boundary=rel\n\n",
            "--rel\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n",
            "<p>Caf\u{e9} <img src=\"cid:logo@x\"> <img src=\"cid:photo@x\"></p>\n",
            "--rel\nContent-Type: image/png\nContent-ID: <logo@x>\nContent-Disposition: inline; filename=logo.png\n",
            "Content-Transfer-Encoding: base64\n\n{}",
            "--rel\nContent-Type: image/jpeg; name=\"photo.jpg\"\nContent-ID: <photo@x>\n",
            "Content-Transfer-Encoding: base64\n\n{}\n",
            "--rel--\n",
        ),
        wrapped(&png, 76, "\n"),
        wrapped(&jpg, 76, "\n"),
    );
    cases.push(Case {
        name: "related with cid images, 8-bit HTML",
        eml: crlf(&related).into_bytes(),
        carried_as_bytes: png.len() + jpg.len(),
    });

    let gmail = format!(
        concat!(
            "MIME-Version: 1.0\nDate: Thu, 19 Nov 2026 11:30:00 -0500\n",
            "Message-ID: <CAB1234@mail.gmail.com>\nSubject: Contract and data\n",
            "From: Alice Martin <alice@clinic.example>\nTo: bob@partner.example\n",
            "Content-Type: multipart/mixed; boundary=\"000000000000a1b2c3d4e5f6\"\n\n",
            "--000000000000a1b2c3d4e5f6\n",
            "Content-Type: multipart/alternative; boundary=\"000000000000a1b2c3d4e5f5\"\n\n",
            "--000000000000a1b2c3d4e5f5\nContent-Type: text/plain; charset=\"UTF-8\"\n\nSee attached.\n\n",
            "--000000000000a1b2c3d4e5f5\nContent-Type: text/html; charset=\"UTF-8\"\n\n<div dir=\"ltr\">See attached.</div>\n\n",
            "--000000000000a1b2c3d4e5f5--\n",
            "--000000000000a1b2c3d4e5f6\n",
            "Content-Type: application/pdf; name=\"Contract 2026.pdf\"\n",
            "Content-Disposition: attachment; filename=\"Contract 2026.pdf\"\n",
            "Content-Transfer-Encoding: base64\nContent-ID: <f_abc123>\nX-Attachment-Id: f_abc123\n\n",
            "{}",
            "--000000000000a1b2c3d4e5f6\n",
            "Content-Type: application/zip; name=\"=?UTF-8?B?RMOpY29tcHRlLnppcA==?=\"\n",
            "Content-Disposition: attachment;\n filename*=UTF-8''D%C3%A9compte.zip\n",
            "Content-Transfer-Encoding: base64\n\n",
            "{}",
            "--000000000000a1b2c3d4e5f6--\n",
        ),
        wrapped(&pdf, 76, "\n"),
        wrapped(&zip, 76, "\n"),
    );
    cases.push(Case {
        name: "Gmail: mixed, alternative, PDF and an RFC 2231 name",
        eml: crlf(&gmail).into_bytes(),
        carried_as_bytes: pdf.len() + zip.len(),
    });

    let inner = format!(
        concat!(
            "From: partner@partner.example\nTo: alice@clinic.example\nSubject: Original\n",
            "Date: Mon, 16 Nov 2026 08:00:00 +0000\nMIME-Version: 1.0\n",
            "Content-Type: multipart/mixed; boundary=inner\n\n",
            "--inner\nContent-Type: text/plain\n\nThe original text.\n",
            "--inner\nContent-Type: image/png; name=scan.png\nContent-Disposition: attachment; filename=scan.png\n",
            "Content-Transfer-Encoding: base64\n\n{}",
            "--inner--\n",
        ),
        wrapped(&png, 76, "\n"),
    );
    let forwarded = format!(
        concat!(
            "From: alice@clinic.example\nTo: bob@partner.example\nSubject: Fwd: Original\n",
            "Date: Tue, 17 Nov 2026 08:00:00 +0000\nMIME-Version: 1.0\n",
            "Content-Type: multipart/mixed; boundary=outer\n\n",
            "--outer\nContent-Type: text/plain; charset=us-ascii\n\nForwarding this.\n",
            "--outer\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename=original.eml\n\n",
            "{}",
            "--outer\nContent-Type: application/pdf; name=after.pdf\nContent-Transfer-Encoding: base64\n\n{}",
            "--outer--\n",
        ),
        inner,
        wrapped(&pdf[..5000], 76, "\n"),
    );
    cases.push(Case {
        name: "a forwarded message/rfc822 with its own attachment",
        eml: crlf(&forwarded).into_bytes(),
        carried_as_bytes: 5000,
    });

    let mut latin1 = b"From: jose@partner.example\r\nTo: alice@clinic.example\r\nSubject: Ol\xe1\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\nMIME-Version: 1.0\r\n\r\n"
        .to_vec();
    latin1.extend_from_slice(b"Bom dia, Jos\xe9. Caf\xe9 \xe0 vontade.\r\n");
    latin1.extend_from_slice(&b"x".repeat(3000));
    latin1.extend_from_slice(b"\r\n");
    cases.push(Case {
        name: "8-bit, non-UTF-8 charset, a 3000-character line",
        eml: latin1,
        carried_as_bytes: 0,
    });

    let mbox = format!(
        concat!(
            "From: alice@clinic.example\nTo: bob@partner.example\nSubject: LF only, 72-character lines\n",
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n",
            "--b\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n{}",
            "--b\nContent-Type: application/octet-stream; name=data.bin\n",
            "Content-Transfer-Encoding: base64\n\n{}\n",
            "--b--\n",
        ),
        wrapped("A text body sent as base64 by some clients.\n".as_bytes(), 76, "\n"),
        wrapped(&zip[..10_000], 72, "\n"),
    );
    cases.push(Case {
        name: "LF line endings, 72-character lines, a base64 text body",
        eml: mbox.into_bytes(),
        carried_as_bytes: 10_000,
    });

    // An encoder that wraps irregularly: kept as it came, still exact.
    let irregular: String = STANDARD
        .encode(&jpg[..3000])
        .as_bytes()
        .chunks(60)
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{}{}",
                std::str::from_utf8(c).unwrap(),
                if i % 7 == 3 { "\r\n\r\n" } else { "\r\n" }
            )
        })
        .collect();
    let irregular = format!(
        "From: a@clinic.example\r\nTo: b@partner.example\r\nSubject: odd\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
--x\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n{irregular}--x--\r\n"
    );
    cases.push(Case {
        name: "irregular base64 lines (kept encoded)",
        eml: irregular.into_bytes(),
        carried_as_bytes: 0,
    });

    let single = format!(
        "From: scanner@clinic.example\r\nTo: bob@partner.example\r\nSubject: Scan\r\nMIME-Version: 1.0\r\n\
Content-Type: application/pdf; name=scan.pdf\r\nContent-Disposition: attachment; filename=scan.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}",
        wrapped(&pdf[..20_000], 76, "\r\n")
    );
    cases.push(Case {
        name: "a single-part message that is one PDF",
        eml: single.into_bytes(),
        carried_as_bytes: 20_000,
    });

    cases.push(Case {
        name: "plain RFC 822, no MIME",
        eml: b"From: a@clinic.example\r\nTo: b@partner.example\r\nSubject: Hello\r\n\r\nJust text.\r\n".to_vec(),
        carried_as_bytes: 0,
    });

    let encoded_message =
        format!(
        "From: a@clinic.example\r\nTo: b@partner.example\r\nSubject: enc\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\nsee\r\n\
--q\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--q--\r\n",
        wrapped(b"From: x@y.example\r\nSubject: inner\r\n\r\nbody\r\n", 76, "\r\n")
    );
    cases.push(Case {
        name: "a base64-encoded message/rfc822",
        eml: encoded_message.into_bytes(),
        carried_as_bytes: 0,
    });
    cases
}

#[test]
fn every_message_comes_back_byte_for_byte_with_the_same_view() {
    for case in corpus() {
        let packed = pack(&case.eml).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let container = Container::parse(packed.payload.clone()).expect(case.name);
        let eml = container.eml();
        assert!(
            eml == case.eml,
            "{}: the .eml differs from the message sealed",
            case.name
        );
        assert_eq!(container.eml_len(), case.eml.len() as u64, "{}", case.name);

        let expected = MessageView::parse(&case.eml).expect(case.name);
        let view = container.view();
        assert_eq!(view.subject, expected.subject, "{}", case.name);
        assert_eq!(view.from, expected.from, "{}", case.name);
        assert_eq!(view.to, expected.to, "{}", case.name);
        assert_eq!(view.cc, expected.cc, "{}", case.name);
        assert_eq!(view.date, expected.date, "{}", case.name);
        assert_eq!(view.text, expected.text, "{}", case.name);
        assert_eq!(view.html, expected.html, "{}", case.name);
        assert_eq!(view.attachments, expected.attachments, "{}", case.name);
        assert_eq!(
            packed.content_size,
            envelope_core::content_size(&case.eml).unwrap(),
            "{}",
            case.name
        );

        // Decoded attachments make the payload smaller than the message by
        // about a quarter of them; the view adds the bodies as text, and the
        // decoded bytes of attachments kept encoded.
        let bodies =
            view.text.as_ref().map_or(0, String::len) + view.html.as_ref().map_or(0, String::len);
        let attachments: usize = view.attachments.iter().map(|a| a.bytes.len()).sum();
        let extra = bodies + attachments - case.carried_as_bytes;
        let most =
            case.eml.len() - case.carried_as_bytes / 3 + case.carried_as_bytes / 100 + extra + 2048;
        assert!(
            packed.payload.len() <= most,
            "{}: payload {} for a {}-byte message; expected at most {most}",
            case.name,
            packed.payload.len(),
            case.eml.len()
        );
    }
}

#[test]
fn attachments_carried_as_bytes_lie_in_the_payload_as_they_are() {
    let case = corpus().into_iter().nth(2).unwrap();
    let container = Container::parse(pack(&case.eml).unwrap().payload).unwrap();
    let summary = container.summary();
    assert_eq!(summary.attachments[0].name, "Contract 2026.pdf");
    assert_eq!(summary.attachments[1].name, "Décompte.zip");
    let range = container.attachment_range(0).expect("a blob");
    assert_eq!(&container.payload()[range], &binary(200_000, 1)[..]);
}

#[test]
fn messages_that_are_not_messages_are_refused() {
    assert!(pack(b"").is_err());
    for bytes in [&b"\x00\x01\x02 not mail"[..], b"\r\n\r\n", b"Subject"] {
        assert_eq!(
            pack(bytes).is_ok(),
            MessageView::parse(bytes).is_ok(),
            "{bytes:?}"
        );
    }
}

/// Messages a careless or hostile sender makes: every corpus message with
/// bytes changed, inserted, cut and repeated where MIME is fragile (line
/// endings, boundaries, padding, header colons). Whatever the parser still
/// reads as a message must come back byte for byte with the same view.
#[test]
fn mangled_messages_still_come_back_byte_for_byte() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below.max(1) as u64) as usize
    };
    const TOKENS: [&[u8]; 10] = [
        b"\r",
        b"\n",
        b"\r\n",
        b"-",
        b"--",
        b"=",
        b":",
        b" ",
        b"\0",
        b"\r\n\r\n",
    ];
    let mut checked = 0;
    for case in corpus() {
        for round in 0..60 {
            let mut eml = case.eml.clone();
            for _ in 0..1 + round % 4 {
                let at = next(eml.len());
                match next(4) {
                    0 => eml[at] = TOKENS[next(TOKENS.len())][0],
                    1 => {
                        let token = TOKENS[next(TOKENS.len())];
                        eml.splice(at..at, token.iter().copied());
                    }
                    2 => {
                        let end = (at + next(200)).min(eml.len());
                        eml.drain(at..end);
                    }
                    _ => {
                        let end = (at + next(200)).min(eml.len());
                        let copy = eml[at..end].to_vec();
                        eml.splice(at..at, copy);
                    }
                }
            }
            let Ok(expected) = MessageView::parse(&eml) else {
                assert!(
                    pack(&eml).is_err(),
                    "{}: packed what the parser refuses",
                    case.name
                );
                continue;
            };
            let packed = pack(&eml).unwrap_or_else(|e| panic!("{} round {round}: {e}", case.name));
            let container = Container::parse(packed.payload).unwrap();
            assert!(
                container.eml() == eml,
                "{} round {round}: not byte for byte",
                case.name
            );
            let view = container.view();
            assert_eq!(
                view.attachments, expected.attachments,
                "{} round {round}",
                case.name
            );
            assert_eq!(
                (view.text, view.html),
                (expected.text, expected.html),
                "{} round {round}",
                case.name
            );
            assert_eq!(
                view.subject, expected.subject,
                "{} round {round}",
                case.name
            );
            checked += 1;
        }
    }
    assert!(
        checked > 300,
        "only {checked} mangled messages were still messages"
    );
}

#[test]
fn containers_that_break_the_format_are_refused_not_trusted() {
    let good = pack(&corpus()[2].eml).unwrap().payload;
    let manifest_len = u32::from_be_bytes(good[good.len() - 4..].try_into().unwrap()) as usize;
    let data_len = good.len() - 4 - manifest_len;
    let manifest = String::from_utf8(good[data_len..good.len() - 4].to_vec()).unwrap();
    let with_manifest = |json: &str| {
        let mut payload = good[..data_len].to_vec();
        payload.extend_from_slice(json.as_bytes());
        payload.extend_from_slice(&(json.len() as u32).to_be_bytes());
        payload
    };
    let first_blob = manifest[manifest.find("\"blobs\":[").unwrap() + 9..]
        .split([',', ']'])
        .next()
        .unwrap()
        .to_string();
    for (what, payload) in [
        ("no trailer", b"abc".to_vec()),
        ("a trailer longer than the payload", {
            let mut p = good.clone();
            let n = p.len();
            p[n - 4..].copy_from_slice(&u32::MAX.to_be_bytes());
            p
        }),
        (
            "an unknown field",
            with_manifest(&manifest.replacen('{', "{\"x\":1,", 1)),
        ),
        (
            "blob lengths that do not add up",
            with_manifest(&manifest.replacen(
                &format!("[{first_blob},"),
                &format!("[{},", first_blob.parse::<u64>().unwrap() + 1),
                1,
            )),
        ),
        (
            "an attachment size that is not its content's",
            with_manifest(&manifest.replacen("\"size\":200000", "\"size\":200001", 1)),
        ),
        (
            "a body outside the message",
            with_manifest(&manifest.replacen(
                "\"view\":",
                "\"html_at\":[0,999999999],\"view\":",
                1,
            )),
        ),
        (
            "a piece naming a missing blob",
            with_manifest(&manifest.replacen("{\"blob\":0}", "{\"blob\":99}", 1)),
        ),
    ] {
        assert!(Container::parse(payload).is_err(), "{what} was accepted");
    }
    assert!(Container::parse(good).is_ok());

    // The Outlook message's quoted-printable text is in the view as text:
    // a range for it as well is refused.
    let outlook = pack(&corpus()[0].eml).unwrap().payload;
    let len = u32::from_be_bytes(outlook[outlook.len() - 4..].try_into().unwrap()) as usize;
    let start = outlook.len() - 4 - len;
    let manifest = std::str::from_utf8(&outlook[start..outlook.len() - 4]).unwrap();
    assert!(manifest.contains("\"text\":\"Bonjour") && !manifest.contains("text_at"));
    let twice = manifest.replacen("\"view\":", "\"text_at\":[0,4],\"view\":", 1);
    let mut payload = outlook[..start].to_vec();
    payload.extend_from_slice(twice.as_bytes());
    payload.extend_from_slice(&(twice.len() as u32).to_be_bytes());
    assert!(
        Container::parse(payload).is_err(),
        "a body both given and referred to was accepted"
    );
}

#[test]
fn a_body_sent_as_it_is_is_not_carried_twice() {
    // A 300 KB HTML newsletter in 8-bit UTF-8: the view refers to it in the
    // message instead of holding a second copy.
    let html = "<p>Caf\u{e9} \u{2615} ".repeat(20_000);
    let eml = format!(
        "From: news@clinic.example\r\nTo: bob@partner.example\r\nSubject: News\r\nMIME-Version: 1.0\r\n\
Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{html}"
    );
    let packed = pack(eml.as_bytes()).unwrap();
    assert!(
        packed.payload.len() < eml.len() + 2048,
        "payload {} for a {}-byte message",
        packed.payload.len(),
        eml.len()
    );
    let container = Container::parse(packed.payload).unwrap();
    assert_eq!(container.summary().html.as_deref(), Some(html.as_str()));
    assert_eq!(
        container.view().html,
        MessageView::parse(eml.as_bytes()).unwrap().html
    );
    assert!(container.eml() == eml.as_bytes());
}

/// A message built to have very many parts (as anyone can send to the mail
/// hook) packs like any other: every attachment carried as bytes, the
/// original back byte for byte. (Finding each part's piece must not cost a
/// pass over all pieces; with 30 000 parts that would be 10⁹ steps.)
#[test]
fn thirty_thousand_attachments_pack_in_one_pass() {
    let mut eml = String::from(
        "From: a@partner.example\r\nTo: b@clinic.example\r\nSubject: many\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nhi\r\n",
    );
    for i in 0..30_000u32 {
        let bytes = i.to_be_bytes();
        eml.push_str(&format!(
            "--m\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            STANDARD.encode(bytes)
        ));
    }
    eml.push_str("--m--\r\n");
    let container = Container::parse(pack(eml.as_bytes()).unwrap().payload).unwrap();
    assert_eq!(container.summary().attachments.len(), 30_000);
    assert!(
        container.attachment_range(29_999).is_some(),
        "carried as bytes"
    );
    assert_eq!(
        &*container.attachment(12_345).unwrap(),
        &12_345u32.to_be_bytes()
    );
    assert!(container.eml() == eml.as_bytes());
}
