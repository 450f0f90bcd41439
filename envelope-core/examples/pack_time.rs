//! How long packing takes: `cargo run --release -p envelope-core --example pack_time -- FILE.eml`.
fn main() {
    let path = std::env::args().nth(1).expect("an .eml file");
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let eml = std::fs::read(&path).expect("readable");
        let read = start.elapsed();
        let packed = envelope_core::pack(&eml).expect("a message");
        let total = start.elapsed();
        eprintln!(
            "read {:?}, pack {:?} ({} → {} bytes)",
            read,
            total - read,
            eml.len(),
            packed.payload.len()
        );
    }
}
