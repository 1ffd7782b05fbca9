//! Times create, verify and restore on a data directory with a large audit trail.
//!
//! ```sh
//! cargo run --release -p rampart-backup --example measure -- 300000
//! ```

use std::sync::Arc;
use std::time::Instant;

use rampart_audit::{AuditStore, StoreConfig, SystemClock};
use rampart_backup::{CreateOptions, Passphrase, RestoreOptions};
use rampart_vault::DataDir;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events: u64 = std::env::args().nth(1).map_or(Ok(100_000), |n| n.parse())?;
    let parent = tempfile::tempdir()?;
    let path = parent.path().join("data");
    let (data, _) = DataDir::open_or_init(&path)?;
    rampart_vault::pki::Pki::open_or_init(&data)?;
    let audit = AuditStore::open(
        &data.dir(rampart_vault::Entry::Audit)?,
        StoreConfig::default(),
        Arc::new(SystemClock::new()),
        Arc::new(data.device_key()?),
    )?;
    let started = Instant::now();
    let mut pending = Vec::new();
    for i in 0..events {
        pending.push(audit.submit(rampart_audit::testing::sample_event(i)));
        if pending.len() >= 10_000 {
            for p in pending.drain(..) {
                p.wait()?;
            }
        }
    }
    for p in pending.drain(..) {
        p.wait()?;
    }
    audit.close()?;
    let db = std::fs::metadata(path.join("audit/audit.sqlite3"))?.len();
    println!(
        "populated {events} events ({} audit database) in {:.1?}",
        mb(db),
        started.elapsed()
    );

    let passphrase = Passphrase::new("correct horse battery staple")?;
    let file = parent.path().join("backup.rbk");
    let started = Instant::now();
    let summary =
        rampart_backup::create_file(&data, &passphrase, &CreateOptions::default(), &file, false)?;
    println!(
        "create (argon2id m=64 MiB t=3 p=1): {:.2?}, {}, {} entries",
        started.elapsed(),
        mb(summary.size),
        summary.entries
    );
    let key = summary.device_key;
    let started = Instant::now();
    rampart_backup::check_origin(std::io::BufReader::new(std::fs::File::open(&file)?), key)?;
    println!("check_origin (signature only): {:.2?}", started.elapsed());
    let started = Instant::now();
    rampart_backup::verify(
        std::io::BufReader::new(std::fs::File::open(&file)?),
        key,
        &passphrase,
    )?;
    println!(
        "verify (signature, decrypt, manifest): {:.2?}",
        started.elapsed()
    );
    std::fs::remove_dir_all(&path)?;
    let started = Instant::now();
    let restored = rampart_backup::restore(
        std::io::BufReader::new(std::fs::File::open(&file)?),
        &path,
        &passphrase,
        &RestoreOptions {
            device_key: Some(key),
        },
    )?;
    println!(
        "restore onto a wiped directory (incl. audit chain verify of {} events): {:.2?}",
        restored.audit_events.unwrap_or(0),
        started.elapsed()
    );
    Ok(())
}

fn mb(bytes: u64) -> String {
    format!("{}.{} MB", bytes / 1_000_000, bytes % 1_000_000 / 100_000)
}
