//! Integration tests of backups, one module per threat or requirement.

mod arbitrary_input;
mod foreign_device;
mod hostile_header;
mod in_use;
mod injected_crypto_provider;
mod round_trip;
mod tampered_backup;
mod util;
mod wrong_passphrase;
