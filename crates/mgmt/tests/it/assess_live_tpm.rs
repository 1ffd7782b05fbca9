//! The hardware-key requirements decided by live evidence: a gateway whose data directory's
//! KEK is sealed in a TPM 2.0 (a swtpm started here) and whose TLS server key and device key
//! were generated in it (`tls_key = "tpm"`: this test's HTTPS handshakes are signed by the TPM;
//! `device_key = "tpm"`: so is every audit checkpoint) reports `vault.kek_provider = "tpm"`,
//! `vault.kek_hardware = true`, `vault.tls_key = "tpm"` and `vault.device_key = "tpm"`, so
//! `rampart assess --live` finds CR 1.5 RE 1, CR 1.9 RE 1 and CR 1.14 RE 1 met, and lists the
//! KEK, the server key and the device key at location `tpm`; the same checks on the `file` provider find them
//! not met. Runs with the feature `tpm` (scripts/test).

use rampart_assess::live::{ConfigReport, LiveChecks, LiveEvaluation, Outcome};
use rampart_vault::at_rest::{KekConfig, TpmConfig};

use crate::harness::{Harness, Options};

#[path = "../../../vault/tests/it/swtpm.rs"]
mod swtpm;

const HARDWARE_RES: [&str; 3] = ["CR 1.5 RE 1", "CR 1.9 RE 1", "CR 1.14 RE 1"];

async fn evaluate(
    h: &Harness,
    admin: &crate::harness::Client,
) -> (serde_json::Value, LiveEvaluation) {
    let answer = admin.get("/api/v1/config-report").await;
    let report = ConfigReport::parse(&answer.text(), "live").unwrap();
    let live = LiveChecks::builtin().evaluate(&report, &format!("https://{}", h.addr));
    (answer.json(), live)
}

fn setting(report: &serde_json::Value, id: &str) -> serde_json::Value {
    report["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .map_or_else(|| panic!("no setting {id}"), |s| s["value"].clone())
}

fn outcomes(live: &LiveEvaluation, requirement: &str) -> Vec<Outcome> {
    live.findings
        .iter()
        .filter(|f| f.requirement.to_string() == requirement)
        .map(|f| f.outcome)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs swtpm: run scripts/test"]
async fn on_a_tpm_kek_the_hardware_key_requirements_are_met_and_on_a_file_kek_not() {
    if !rampart_vault::at_rest::TPM_BUILT {
        eprintln!("built without the feature tpm: scripts/test runs this test with it");
        return;
    }
    let tpm = swtpm::Swtpm::start();
    let options = Options {
        kek: KekConfig::Tpm(TpmConfig {
            tcti: Some(tpm.tcti()),
            pcrs: Some(vec![16]),
        }),
        tls_key: rampart_vault::pki::ServerKeyStore::Tpm,
        device_key: rampart_vault::KeyStore::Tpm,
        ..Options::default()
    };
    let h = Harness::start_with(options).await;
    let admin = h.admin().await;
    let (report, live) = evaluate(&h, &admin).await;
    assert_eq!(setting(&report, "vault.kek_provider"), "tpm");
    assert_eq!(setting(&report, "vault.kek_hardware"), true);
    assert_eq!(setting(&report, "vault.tls_key"), "tpm");
    assert_eq!(setting(&report, "vault.device_key"), "tpm");
    let tpm_setting = setting(&report, "vault.tpm");
    let described = tpm_setting.as_str().unwrap();
    assert!(
        described.starts_with("built; manufacturer IBM") && described.contains("lockout after"),
        "{described}"
    );
    for requirement in HARDWARE_RES {
        let found = outcomes(&live, requirement);
        assert!(
            !found.is_empty() && found.iter().all(|o| *o == Outcome::Pass),
            "{requirement}: {found:?}"
        );
    }
    // The inventory locates the KEK in the TPM.
    let inventory = admin.get("/api/v1/crypto").await.json();
    let kek = inventory
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "crypto/key/kek")
        .unwrap()
        .clone();
    assert_eq!(kek["location"], "tpm", "{kek}");
    let find = |id: &str| {
        inventory
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {inventory}"))
            .clone()
    };
    assert_eq!(find("crypto/key/tpm-parent")["location"], "tpm");
    assert_eq!(find("crypto/key/server")["location"], "tpm");
    assert_eq!(find("crypto/key/device")["location"], "tpm");
    assert_eq!(find("crypto/key/device")["algorithm"], "ECDSA P-256");
    assert_eq!(
        find("crypto/key/tpm-policy-authority")["location"],
        "encrypted-file"
    );
    h.stop().await;

    // The same checks on the file provider: not met.
    let h = Harness::start().await;
    let admin = h.admin().await;
    let (report, live) = evaluate(&h, &admin).await;
    assert_eq!(setting(&report, "vault.kek_hardware"), false);
    assert_eq!(setting(&report, "vault.tls_key"), "file");
    assert_eq!(setting(&report, "vault.device_key"), "file");
    for requirement in HARDWARE_RES {
        assert!(
            outcomes(&live, requirement).contains(&Outcome::Fail),
            "{requirement}"
        );
    }
    h.stop().await;
}
