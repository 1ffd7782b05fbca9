//! NDR 1.13 access via untrusted networks: a listener admits only its allow-list.

use rampart_gateway::config::AllowList;

use crate::util::{TestGateway, assert_refused, loopback_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_outside_the_allow_list_are_refused_and_recorded() {
    let mut config = loopback_config();
    config.secure.allow = AllowList::parse(&["192.0.2.0/24"]).unwrap();
    let gw = TestGateway::with_config(config).await;
    assert_refused(gw.client("engineer").await).await;
    gw.wait_for_events("modbus.connection_refused", 1).await;
    let status = gw.gateway.status();
    assert_eq!(status.counters.connections_refused, 1);
    assert_eq!(status.counters.handshakes_failed, 0, "refused before TLS");
}
