//! The sync-channel decoder: any datagram decodes or is refused, never
//! panics, and what decodes re-encodes to the same bytes.
#![no_main]

use libcontainer::process::sync::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        let mut out = Vec::new();
        m.encode(&mut out);
        assert_eq!(Message::decode(&out).ok(), Some(m));
    }
});
