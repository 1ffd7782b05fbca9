use rampart_catalog::{ComponentType, Fr, SecurityLevel};

pub(crate) fn sl(n: u8) -> SecurityLevel {
    SecurityLevel::new(n).unwrap()
}

pub(crate) fn fr(n: u8) -> Fr {
    Fr::from_number(n).unwrap()
}

pub(crate) fn component_type(code: &str) -> ComponentType {
    code.parse().unwrap()
}

/// The path of a file in the repository, from this crate's manifest directory.
pub(crate) fn repo_file(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}
