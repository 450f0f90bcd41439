//! Building the RFC 5322 message a sender seals, from its parts.

use mail_builder::headers::address::Address;
use mail_builder::MessageBuilder;

/// A file to attach.
#[derive(Debug, Clone)]
pub struct DraftAttachment {
    /// File name as the recipient will see it.
    pub name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A message to compose.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// Sender address.
    pub from: String,
    /// Recipient addresses.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub text: Option<String>,
    /// HTML body.
    pub html: Option<String>,
    /// Attachments.
    pub attachments: Vec<DraftAttachment>,
    /// Date, Unix seconds.
    pub date: i64,
}

/// Composes the message: text and HTML as `multipart/alternative`, attachments
/// with their types guessed from the file name, a fresh random Message-ID in
/// the sender's domain.
pub fn compose(draft: &Draft) -> Vec<u8> {
    let mut id = [0u8; 16];
    crate::fill_random(&mut id);
    let domain = draft
        .from
        .rsplit_once('@')
        .map_or("securedoc.invalid", |(_, domain)| domain);
    let message_id = format!("{}@{domain}", crate::header::encode_hex(&id));
    let to: Vec<Address<'_>> = draft
        .to
        .iter()
        .map(|a| Address::new_address(None::<&str>, a.as_str()))
        .collect();
    let mut builder = MessageBuilder::new()
        .from(Address::new_address(None::<&str>, draft.from.as_str()))
        .to(Address::new_list(to))
        .subject(draft.subject.as_str())
        .date(draft.date)
        .message_id(message_id);
    if let Some(text) = &draft.text {
        builder = builder.text_body(text.as_str());
    }
    if let Some(html) = &draft.html {
        builder = builder.html_body(html.as_str());
    }
    if draft.text.is_none() && draft.html.is_none() {
        builder = builder.text_body("");
    }
    for file in &draft.attachments {
        let content_type = mime_guess::from_path(&file.name)
            .first_or_octet_stream()
            .essence_str()
            .to_string();
        builder = builder.attachment(content_type, file.name.as_str(), file.bytes.as_slice());
    }
    builder
        .write_to_vec()
        .expect("writing to memory cannot fail")
}
