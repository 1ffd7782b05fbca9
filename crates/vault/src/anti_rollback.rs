//! The hardware anti-rollback counter: the security-version floor of updates kept in a TPM 2.0
//! monotonic NV counter, when the data directory's KEK is in a TPM (feature `tpm`).
//!
//! A TPM counter only counts up, and one defined anew starts at least at the highest value any
//! counter of that TPM ever had, so neither an edited boot-state file nor an undefined and
//! redefined index lowers it. The floor is the counter's distance from its value when it was
//! defined (the *base*), kept in `keys/tpm/counter` sealed under the KEK: an offline edit
//! cannot move the base, and the KEK only unseals on this platform in an approved state.
//!
//! [`floor`] and [`raise`] answer `None` when this process opened no data directory with a
//! TPM KEK (the file provider, a build without TPM support): the floor is then the boot
//! state's alone (docs/update.md).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::VaultError;
use crate::at_rest::Kek;

/// The most increments one [`raise`] makes: security versions are small numbers, and a jump
/// this large is a mistake, not a release.
pub const MAX_STEP: u64 = 1024;

#[cfg_attr(not(feature = "tpm"), allow(dead_code))]
struct Site {
    /// `DATA/keys/tpm`.
    dir: PathBuf,
    kek: Arc<Kek>,
}

static SITE: Mutex<Option<Site>> = Mutex::new(None);

/// Records the data directory whose TPM KEK this process unsealed (by `DataDir` on open).
pub(crate) fn register(dir: PathBuf, kek: Arc<Kek>) {
    *SITE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Site { dir, kek });
}

/// The security-version floor the TPM holds; `None` without a TPM KEK.
///
/// # Errors
/// [`VaultError::Kek`]: the TPM cannot be reached, the counter is gone or below its base.
pub fn floor() -> Result<Option<u64>, VaultError> {
    #[cfg(feature = "tpm")]
    return with_counter(imp::Counter::floor);
    #[cfg(not(feature = "tpm"))]
    Ok(None)
}

/// Raises the TPM's floor to at least `to` (counting the counter up); the floor afterwards;
/// `None` without a TPM KEK.
///
/// # Errors
/// As [`floor`]; a raise of more than [`MAX_STEP`].
pub fn raise(to: u64) -> Result<Option<u64>, VaultError> {
    #[cfg(feature = "tpm")]
    return with_counter(|counter| counter.raise(to));
    #[cfg(not(feature = "tpm"))]
    {
        let _ = to;
        Ok(None)
    }
}

#[cfg(feature = "tpm")]
fn with_counter(
    act: impl FnOnce(&mut imp::Counter) -> Result<u64, VaultError>,
) -> Result<Option<u64>, VaultError> {
    let site = SITE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
        .map(|s| (s.dir.clone(), Arc::clone(&s.kek)));
    let Some((dir, kek)) = site else {
        return Ok(None);
    };
    if kek.kind() != crate::at_rest::ProviderKind::Tpm {
        return Ok(None);
    }
    let mut counter = imp::Counter::open_or_define(&dir, &kek)?;
    act(&mut counter).map(Some)
}

#[cfg(feature = "tpm")]
mod imp {
    use std::path::Path;

    use super::MAX_STEP;
    use crate::VaultError;
    use crate::at_rest::Kek;
    use crate::tpm::esys::Tpm;

    const HEADER: &str = "rampart-tpm-counter 1";
    const FILE: &str = "counter";
    const NAME: &str = "keys/tpm/counter";

    #[allow(clippy::needless_pass_by_value)] // the shape `map_err` hands over
    fn tpm_error(e: crate::tpm::esys::TpmError) -> VaultError {
        VaultError::Kek(format!("tpm: anti-rollback counter: {e}"))
    }

    pub(super) struct Counter {
        tpm: Tpm,
        index: u32,
        base: u64,
    }

    impl Counter {
        pub(super) fn open_or_define(dir: &Path, kek: &Kek) -> Result<Counter, VaultError> {
            let tcti = crate::tpm::settings_of(dir)?.tcti;
            let mut tpm = Tpm::connect(&tcti).map_err(tpm_error)?;
            let path = dir.join(FILE);
            if path.exists() {
                let text = crate::at_rest::read_secret(&path)?;
                let (index, base) = parse(&text)
                    .map_err(|e| VaultError::Kek(format!("{}: {e}", path.display())))?;
                return Ok(Counter { tpm, index, base });
            }
            let (index, base) = tpm.define_counter().map_err(tpm_error)?;
            let text = format!("{HEADER}\nindex {index:#010x}\nbase {base}\n");
            crate::at_rest::write_secret(kek, &path, NAME, text.as_bytes(), true)?;
            Ok(Counter { tpm, index, base })
        }

        pub(super) fn floor(&mut self) -> Result<u64, VaultError> {
            let value = self.tpm.read_counter(self.index).map_err(tpm_error)?;
            value.checked_sub(self.base).ok_or_else(|| {
                VaultError::Kek(format!(
                    "tpm: anti-rollback counter {:#010x} is at {value}, below its base {}: \
                     not this directory's counter",
                    self.index, self.base
                ))
            })
        }

        pub(super) fn raise(&mut self, to: u64) -> Result<u64, VaultError> {
            let mut floor = self.floor()?;
            if to.saturating_sub(floor) > MAX_STEP {
                return Err(VaultError::Kek(format!(
                    "tpm: anti-rollback counter: raising the floor from {floor} to {to} is more \
                     than {MAX_STEP} steps"
                )));
            }
            while floor < to {
                let value = self.tpm.increment_counter(self.index).map_err(tpm_error)?;
                floor = value.saturating_sub(self.base);
            }
            Ok(floor)
        }
    }

    fn parse(bytes: &[u8]) -> Result<(u32, u64), String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
        if text.lines().next() != Some(HEADER) {
            return Err(format!("the first line is not {HEADER:?}"));
        }
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(' ')))
                .ok_or_else(|| format!("no `{key}` line"))
        };
        let index = field("index")?;
        let index = index
            .strip_prefix("0x")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("index {index:?} is not a hex NV index"))?;
        let base = field("base")?
            .parse()
            .map_err(|_| "base is not a number".to_owned())?;
        Ok((index, base))
    }

    /// The counter index recorded in `dir`, for decommissioning.
    pub(crate) fn recorded_index(dir: &Path) -> Option<u32> {
        let text = crate::at_rest::read_secret(&dir.join(FILE)).ok()?;
        parse(&text).ok().map(|(index, _)| index)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn counter_records_parse_and_bad_ones_name_the_field() {
            assert_eq!(
                super::parse(b"rampart-tpm-counter 1\nindex 0x01507000\nbase 17\n").unwrap(),
                (0x0150_7000, 17)
            );
            for (bad, field) in [
                (&b"rampart-tpm-counter 2\n"[..], "first line"),
                (b"rampart-tpm-counter 1\nindex 7\nbase 1\n", "index"),
                (b"rampart-tpm-counter 1\nindex 0x01507000\nbase x\n", "base"),
            ] {
                let err = super::parse(bad).unwrap_err();
                assert!(err.contains(field), "{err}");
            }
        }
    }
}

#[cfg(feature = "tpm")]
pub(crate) use imp::recorded_index;
