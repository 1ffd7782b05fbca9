//! The crypto seam is real: a backup draws its salt and nonce prefix from the provider it is
//! given, and from nowhere else.

use std::io::Cursor;

use rampart_backup::{CreateOptions, Header};
use rampart_vault::crypto::CryptoProvider;

use crate::util::{Device, fast, passphrase};

fn header_of(device: &Device, options: &CreateOptions) -> Header {
    let mut out = Vec::new();
    rampart_backup::create(&device.data, &passphrase(), options, &mut out).unwrap();
    // The backup made with any provider opens with the default one.
    let verified = rampart_backup::verify(Cursor::new(&out), device.key(), &passphrase()).unwrap();
    verified.signed().header().clone()
}

#[test]
fn a_seeded_provider_gives_the_same_salt_and_nonce_twice() {
    let device = Device::new(1);
    let seeded = |seed| CreateOptions {
        crypto: Box::leak(Box::new(CryptoProvider::danger_seeded(seed))),
        ..fast()
    };
    let a = header_of(&device, &seeded(7));
    let b = header_of(&device, &seeded(7));
    assert_eq!(a.kdf.salt, b.kdf.salt);
    assert_eq!(a.aead.nonce_prefix, b.aead.nonce_prefix);
    let c = header_of(&device, &seeded(8));
    assert_ne!(a.kdf.salt, c.kdf.salt);
    assert_ne!(a.aead.nonce_prefix, c.aead.nonce_prefix);
}

#[test]
fn the_default_provider_never_repeats_a_salt_or_nonce() {
    let device = Device::new(1);
    let a = header_of(&device, &fast());
    let b = header_of(&device, &fast());
    assert_ne!(a.kdf.salt, b.kdf.salt);
    assert_ne!(a.aead.nonce_prefix, b.aead.nonce_prefix);
}
