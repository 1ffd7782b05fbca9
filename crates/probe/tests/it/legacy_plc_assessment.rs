//! The end-to-end case: a "legacy PLC" whose profile claims every SL 1 requirement
//! met, probed on the network (a plain Modbus/TCP PLC on loopback), loses the SL-C it claims
//! once the evidence decides — through the same path as `assess --live`.

use rampart_assess::live::ReportComponent;
use rampart_assess::{Options, Profile};
use rampart_catalog::{Catalog, Fr};
use rampart_gateway::sim::SimulatedPlc;

use crate::util::{now, probe};

fn repo_file(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_legacy_plc_claiming_sl_1_drops_it_when_probed() {
    let catalog = Catalog::builtin();
    let profile = Profile::from_file(&repo_file("examples/legacy-plc.toml"), catalog).unwrap();
    let plc = SimulatedPlc::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let target = format!("modbus://{}", plc.local_addr());
    let evidence = probe(&[target], &[], false).await;
    plc.shutdown().await;
    // Through the file, as `rampart assess --evidence` reads it.
    let evidence = rampart_probe::Evidence::parse(&evidence.to_json(), "plc.json").unwrap();
    let component = profile.component();
    let live = evidence.live_evaluation(
        "plc.json",
        ReportComponent {
            vendor: component.vendor.clone(),
            product: component.product.clone(),
            version: component.version.clone(),
            component_type: component.component_type,
        },
    );
    let options = |live| Options {
        sl_t: None,
        waivers: None,
        live,
        now: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
    };
    let claimed = rampart_assess::assess(catalog, &profile, &options(None));
    assert!(claimed.passed, "the profile alone claims SL 1 everywhere");
    let measured = rampart_assess::assess(catalog, &profile, &options(Some(&live)));
    assert!(!measured.passed);
    // Clear text: communication integrity (FR3) and confidentiality (FR4) fall to 0.
    assert_eq!(claimed.sl_c.get(Fr::Si), 1);
    assert_eq!(measured.sl_c.get(Fr::Si), 0);
    assert_eq!(measured.sl_c.get(Fr::Dc), 0);
    let contradicted: Vec<String> = rampart_assess::contradictions(&profile, &live)
        .iter()
        .map(|f| f.requirement.to_string())
        .collect();
    assert!(
        contradicted.contains(&"CR 3.1".to_owned()),
        "{contradicted:?}"
    );
    assert!(
        contradicted.contains(&"CR 4.1".to_owned()),
        "{contradicted:?}"
    );
    let gap = measured
        .gaps
        .iter()
        .find(|g| g.id.to_string() == "CR 3.1")
        .unwrap();
    assert!(gap.reason.contains("clear text"), "{}", gap.reason);
    let _ = now();
}
