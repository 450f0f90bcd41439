//! What the opener shows of a decrypted message: the MIME view, the size
//! summary, and the attachment names it offers to save.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = envelope_core::content_size(data);
    if let Ok(view) = envelope_core::MessageView::parse(data) {
        for attachment in &view.attachments {
            let name = &attachment.name;
            // The promises sanitize_filename makes to the "Save" button.
            assert!(!name.is_empty());
            assert!(!name.contains(['/', '\\']), "{name:?}");
            assert!(!name.chars().any(char::is_control), "{name:?}");
            assert!(!name.starts_with('.'), "{name:?}");
            assert!(name.chars().count() <= 151, "{name:?}");
        }
    }
});
