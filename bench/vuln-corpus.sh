#!/usr/bin/env bash
# Parse speed of `rampart vuln match` on a corpus of 2,100 CSAF 2.0 documents
# (docs/vulnerabilities.md "Speed", docs/benchmarks.md; issue target: ≥ 2,000 in < 10 s):
# the 21 CISA advisories of crates/vuln/tests/data/csaf, each in 100 variants (tracking id
# and vendor names changed), read from one directory — JSON schema, mandatory tests and
# matching against the plant inventory included. Baseline in the same run: Python's json
# module only parsing the same files (no schema, no tests, no matching).
#
#     bench/vuln-corpus.sh [RUNS]     (default 5; builds target/release/rampart if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
bin=target/release/rampart
[ -x "$bin" ] || cargo build --release -p rampart
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/csaf" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1]); out.mkdir()
for src in sorted(pathlib.Path("crates/vuln/tests/data/csaf").glob("*.json")):
    doc = json.loads(src.read_text())
    for i in range(100):
        d = json.loads(json.dumps(doc))
        d["document"]["tracking"]["id"] += f"-V{i}"
        for b in d.get("product_tree", {}).get("branches", []):
            if b.get("category") == "vendor" and i % 2:
                b["name"] += ", Inc."
        (out / f"{src.stem}-v{i}.json").write_text(json.dumps(d))
PY
echo "documents: $(ls "$work/csaf" | wc -l)"
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
: >"$work/rampart"
: >"$work/python"
for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    status=0
    "$bin" vuln match --sbom crates/vuln/tests/data/sbom/plant.cdx.json --csaf "$work/csaf" \
        --format json >"$work/out.json" 2>"$work/warnings" || status=$?
    [ "$status" -le 1 ] || { echo "rampart vuln match failed ($status)"; exit 1; }
    echo $(( ($(date +%s%N) - start) / 1000000 )) >>"$work/rampart"
    start=$(date +%s%N)
    python3 -c 'import json, pathlib, sys; [json.loads(p.read_bytes()) for p in pathlib.Path(sys.argv[1]).iterdir()]' "$work/csaf"
    echo $(( ($(date +%s%N) - start) / 1000000 )) >>"$work/python"
done
echo "rampart vuln match (schema, mandatory tests, matching), median of $runs: $(median <"$work/rampart") ms"
echo "python json.loads only (baseline), median of $runs: $(median <"$work/python") ms"
