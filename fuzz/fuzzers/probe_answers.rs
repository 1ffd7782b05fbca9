//! What `rampart probe` reads from a hostile peer and a user: the answer to a hand-built
//! `ClientHello` (records, alerts, a `ServerHello` or `HelloRetryRequest` across records, the
//! curve or prime of a `ServerKeyExchange`), the handshake messages its own TLS 1.2 client
//! reads (`tls-client-renegotiation`), an `OpenAPI` document (its protected routes and
//! JSON login operations) and an evidence file handed to `assess --evidence`: no panic,
//! decided answers stay decided, evidence reads back.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart_probe::fuzzing::server_answer(data);
    rampart_probe::fuzzing::server_key_exchange(data);
    rampart_probe::fuzzing::evidence(data);
    rampart_probe::fuzzing::openapi_document(data);
    rampart_probe::fuzzing::renegotiation_handshake(data);
});
