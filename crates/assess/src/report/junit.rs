//! `JUnit` XML for CI: one test suite per FR, one test case per requirement in the SL-T set.
//! A gap is a failure; a waived gap and a not-applicable requirement are skipped, with why.

use std::fmt::Write as _;

use rampart_catalog::Fr;

use super::escape_xml as esc;
use crate::engine::Assessment;
use crate::profile::Status;

/// The `JUnit` XML report.
pub fn junit(a: &Assessment) -> String {
    let mut suites = String::new();
    let (mut total, mut failed, mut skipped) = (0, 0, 0);
    for fr in Fr::ALL {
        let target = a.sl_t.get(fr);
        let mut cases = String::new();
        let (mut n, mut f, mut s) = (0, 0, 0);
        for r in a
            .requirements
            .iter()
            .filter(|r| r.fr == Some(fr) && r.lowest_level() <= target)
        {
            n += 1;
            let _ = write!(
                cases,
                "    <testcase classname=\"iec62443-4-2.{fr}\" name=\"{} {} (SL {})\">",
                r.id,
                esc(&r.title),
                r.lowest_level()
            );
            if let Some(g) = a.gaps.iter().find(|g| g.id == r.id) {
                f += 1;
                let _ = write!(
                    cases,
                    "\n      <failure message=\"{}\" type=\"{}\">{} {}: {}</failure>\n    ",
                    esc(&g.reason),
                    g.status,
                    g.id,
                    esc(&g.title),
                    esc(&g.reason)
                );
            } else if let Some(g) = a.waived.iter().find(|g| g.id == r.id) {
                s += 1;
                let why = g.waiver.as_ref().map_or(String::new(), |w| {
                    format!("waived until {}: {}", w.expires, w.justification)
                });
                let _ = write!(cases, "\n      <skipped message=\"{}\"/>\n    ", esc(&why));
            } else if r.status == Status::NotApplicable {
                s += 1;
                let _ = write!(
                    cases,
                    "\n      <skipped message=\"not applicable: {}\"/>\n    ",
                    esc(r.justification.as_deref().unwrap_or_default())
                );
            }
            cases.push_str("</testcase>\n");
        }
        total += n;
        failed += f;
        skipped += s;
        let _ = write!(
            suites,
            "  <testsuite name=\"{fr} {}\" tests=\"{n}\" failures=\"{f}\" errors=\"0\" skipped=\"{s}\" timestamp=\"{}\">\n    \
             <properties>\n      <property name=\"sl-t\" value=\"{target}\"/>\n      <property name=\"sl-c\" value=\"{}\"/>\n    </properties>\n{cases}  </testsuite>\n",
            fr.abbreviation(),
            esc(a.generated_at.trim_end_matches('Z')),
            a.sl_c.get(fr)
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"rampart assess {} {}\" tests=\"{total}\" failures=\"{failed}\" errors=\"0\" skipped=\"{skipped}\">\n{suites}</testsuites>\n",
        esc(&a.component.product),
        esc(&a.component.version)
    )
}
