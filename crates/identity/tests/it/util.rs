//! The shared test harness: a fresh store in a temporary directory, a manual clock, an
//! in-memory audit recorder, cheap hashing, and helpers to make accounts and certificates.

use std::net::IpAddr;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use rampart_identity::{
    AccountName, AuditRecord, AuthenticatedPrincipal, HashParams, Identity, IdentityConfig,
    ManualClock, MemoryRecorder, NewAccount, Origin, Password, RoleName,
};

/// A password that satisfies the default policy.
pub(crate) const GOOD: &str = "plinth marmot cobalt fjord";
/// Another one.
pub(crate) const GOOD2: &str = "quartz lantern meadow ripple";
/// And a third.
pub(crate) const GOOD3: &str = "saffron glacier tundra whistle";

pub(crate) struct Harness {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) audit: Arc<MemoryRecorder>,
    pub(crate) id: Identity,
    /// The local console, holding every permission.
    pub(crate) root: AuthenticatedPrincipal,
}

/// A configuration with cheap hashing, for tests.
pub(crate) fn config() -> IdentityConfig {
    IdentityConfig {
        hashing: HashParams::danger_insecure_fast(),
        ..IdentityConfig::default()
    }
}

pub(crate) fn start() -> Timestamp {
    Timestamp::from_second(1_750_000_000).unwrap()
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with_config(config())
    }

    pub(crate) fn with_config(config: IdentityConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(start()));
        let audit = Arc::new(MemoryRecorder::new());
        let id = Identity::builder(dir.path().join("identity.db"), audit.clone())
            .config(config)
            .clock(clock.clone())
            .open()
            .unwrap();
        let root = id.local_console("root").unwrap();
        Self {
            dir,
            clock,
            audit,
            id,
            root,
        }
    }

    /// Reopens the same store with another configuration.
    pub(crate) fn reopen(&mut self, config: IdentityConfig) {
        self.id = Identity::builder(self.dir.path().join("identity.db"), self.audit.clone())
            .config(config)
            .clock(self.clock.clone())
            .open()
            .unwrap();
    }

    pub(crate) fn advance(&self, by: SignedDuration) {
        self.clock.advance(by);
    }

    /// Creates a human account with `roles` and password `password`, which need not be
    /// changed.
    pub(crate) fn user(&self, name: &str, roles: &[&str], password: &str) {
        let mut account = NewAccount::new(acct(name)).must_change_password(false);
        for r in roles {
            account = account.role(role(r));
        }
        self.id
            .create_user(&self.root, &account, &Password::from(password))
            .unwrap();
    }

    /// Logs `name` in with `password` from the test address.
    pub(crate) fn login(&self, name: &str, password: &str) -> AuthenticatedPrincipal {
        self.id
            .authenticate(name, &Password::from(password), None, &web())
            .unwrap()
    }

    pub(crate) fn records(&self) -> Vec<AuditRecord> {
        self.audit.records()
    }

    pub(crate) fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("identity.db")
    }
}

pub(crate) fn acct(name: &str) -> AccountName {
    AccountName::parse(name).unwrap()
}

pub(crate) fn role(name: &str) -> RoleName {
    RoleName::parse(name).unwrap()
}

/// The HTTPS interface from 192.0.2.10.
pub(crate) fn web() -> Origin {
    from("192.0.2.10")
}

/// The HTTPS interface from `address`.
pub(crate) fn from(address: &str) -> Origin {
    Origin::new("https").with_address(address.parse::<IpAddr>().unwrap())
}

/// The DER of a `UTF8String`.
pub(crate) fn utf8_string(text: &str) -> Vec<u8> {
    let mut out = vec![0x0c, u8::try_from(text.len()).unwrap()];
    out.extend_from_slice(text.as_bytes());
    out
}

/// What a test certificate should carry.
pub(crate) struct CertSpec<'a> {
    pub(crate) subject: &'a str,
    /// Raw extension values for the role OID, one extension each.
    pub(crate) roles: Vec<Vec<u8>>,
    pub(crate) not_before: (i32, u8, u8),
    pub(crate) not_after: (i32, u8, u8),
    pub(crate) client_auth: bool,
}

impl Default for CertSpec<'_> {
    fn default() -> Self {
        Self {
            subject: "plc-client-1",
            roles: Vec::new(),
            not_before: (2020, 1, 1),
            not_after: (2040, 1, 1),
            client_auth: true,
        }
    }
}

/// A self-signed DER certificate made to `spec`.
pub(crate) fn certificate(spec: &CertSpec<'_>) -> Vec<u8> {
    use rcgen::{
        CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, KeyPair,
        KeyUsagePurpose, date_time_ymd,
    };
    let mut params = CertificateParams::new(vec!["device.example".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, spec.subject);
    for value in &spec.roles {
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 50316, 802, 1],
                value.clone(),
            ));
    }
    let (y, m, d) = spec.not_before;
    params.not_before = date_time_ymd(y, m, d);
    let (y, m, d) = spec.not_after;
    params.not_after = date_time_ymd(y, m, d);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = if spec.client_auth {
        vec![ExtendedKeyUsagePurpose::ClientAuth]
    } else {
        vec![ExtendedKeyUsagePurpose::ServerAuth]
    };
    let key = KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().to_vec()
}

/// Every audit record as JSON text, to search for leaked secrets.
pub(crate) fn records_text(h: &Harness) -> String {
    serde_json::to_string(&h.records()).unwrap()
}
