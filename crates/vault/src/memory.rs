//! Secrets in this process's memory, kept from other processes and from disk (CR 4.2 RE 1,
//! erase of shared memory resources).
//!
//! Secrets are held in zeroizing buffers and wiped when dropped (`zeroize`); memory the
//! process gives back is handed to another process only after the kernel clears it. What is
//! left is the ways the live memory of a running gateway can reach someone else:
//! - a **core dump** on a crash writes it to disk: the core size limit is set to 0, soft and
//!   hard, so no core file is written (nor can the limit be raised again by this process);
//! - another process of the same user can **ptrace** it or read `/proc/PID/mem`: the process
//!   is made *not dumpable* (`PR_SET_DUMPABLE` 0), which the kernel also takes as "no core
//!   dump, no ptrace attach and `/proc/PID/{mem,environ,maps}` owned by root".
//!
//! [`protect`] runs first thing in every `rampart` command; [`status`] reports what holds,
//! for the configuration report (`process.memory_protected`).

/// What holds of the protection of this process's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryProtection {
    /// The process is not dumpable (no ptrace by same-user processes, no core dump).
    pub not_dumpable: bool,
    /// The core file size limit is 0, soft and hard.
    pub no_core_dumps: bool,
}

impl MemoryProtection {
    /// Both hold.
    pub const fn holds(self) -> bool {
        self.not_dumpable && self.no_core_dumps
    }
}

/// Makes this process not dumpable and its core size limit 0. Returns what holds afterwards
/// (a kernel that refuses leaves the corresponding field false).
pub fn protect() -> MemoryProtection {
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    status()
}

/// What holds now.
pub fn status() -> MemoryProtection {
    let core = rustix::process::getrlimit(rustix::process::Resource::Core);
    MemoryProtection {
        not_dumpable: matches!(
            rustix::process::dumpable_behavior(),
            Ok(rustix::process::DumpableBehavior::NotDumpable)
        ),
        no_core_dumps: core.current == Some(0) && core.maximum == Some(0),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn protecting_makes_the_process_not_dumpable_with_no_core_limit() {
        // The test process itself: it needs neither ptrace nor core dumps afterwards.
        // (`rampart::cli::secrets_at_rest` reads a running gateway's limits from outside.)
        let after = super::protect();
        assert!(after.holds(), "{after:?}");
        assert_eq!(super::status(), after);
    }
}
