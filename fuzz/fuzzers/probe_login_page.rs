//! What `rampart probe`'s HTTPS login checks read from a hostile management plane: the page
//! shown before a login (forms, hidden tokens, notices, text) and the answer to a failed
//! login: no panic, every bound held, a form only ever posted to a path of the target.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart_probe::fuzzing::login_page(data);
});
