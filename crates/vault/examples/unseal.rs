//! The start-up cost of the secrets at rest: how long opening a data directory (loading the
//! KEK, sealing nothing) and unsealing its keys takes, against reading the same keys plain.
//!
//! ```sh
//! cargo run --release -p rampart-vault --example unseal -- 200
//! ```

use std::time::{Duration, Instant};

use rampart_vault::DataDir;
use rampart_vault::at_rest;
use rampart_vault::pki::Pki;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args().nth(1).map_or(Ok(200), |n| n.parse())?;
    let parent = tempfile::tempdir()?;
    let path = parent.path().join("data");
    let (data, _) = DataDir::open_or_init(&path)?;
    Pki::open_or_init(&data)?;
    let secrets: Vec<_> = rampart_vault::SEALED_FILES
        .iter()
        .map(|name| path.join(name))
        .collect();
    // The same keys, plain, for the baseline read.
    let plain = parent.path().join("plain");
    std::fs::create_dir(&plain)?;
    let mut plain_files = Vec::new();
    for (i, file) in secrets.iter().enumerate() {
        let target = plain.join(format!("{i}.key"));
        rampart_vault::write_atomic(&target, &at_rest::read_secret(file)?, 0o600)?;
        plain_files.push(target);
    }

    let mut open_dir = Vec::new();
    let mut unseal = Vec::new();
    let mut read_plain = Vec::new();
    let mut start_up = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let opened = DataDir::open(&path)?;
        open_dir.push(t.elapsed());
        let t = Instant::now();
        for file in &secrets {
            std::hint::black_box(at_rest::read_secret(file)?);
        }
        unseal.push(t.elapsed());
        let t = Instant::now();
        for file in &plain_files {
            std::hint::black_box(at_rest::read_secret(file)?);
        }
        read_plain.push(t.elapsed());
        // What a start pays: open the directory, load the device key, the CA and the server key.
        let t = Instant::now();
        let (again, _) = DataDir::open_or_init(&path)?;
        std::hint::black_box(again.device_key()?);
        let pki = Pki::open(&opened)?;
        std::hint::black_box(at_rest::read_secret(&pki.ca_key_path())?);
        std::hint::black_box(at_rest::read_secret(&pki.server_key_path())?);
        start_up.push(t.elapsed());
    }
    println!("rounds: {rounds}, {} sealed keys", secrets.len());
    println!(
        "open the data directory (KEK load):   median {:?}",
        median(open_dir)
    );
    println!(
        "unseal the 3 keys:                    median {:?}",
        median(unseal)
    );
    println!(
        "read the same 3 keys plain:           median {:?}",
        median(read_plain)
    );
    println!(
        "start-up path (open + device, CA, server key): median {:?}",
        median(start_up)
    );
    Ok(())
}
