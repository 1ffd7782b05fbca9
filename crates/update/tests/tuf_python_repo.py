#!/usr/bin/env python3
"""An independent second signer for the TUF client's tests: python-tuf (PyPI `tuf`) builds a
repository with ed25519, ecdsa-sha2-nistp256 and rsassa-pss-sha256 keys, consistent
snapshots, sha256+sha512 target hashes, a delegated role and a root rotation.

Usage: tuf_python_repo.py OUT_DIR

Writes OUT_DIR/metadata/ (1.root.json, 2.root.json, timestamp.json, VERSION.ROLE.json),
OUT_DIR/targets/ (HASH.NAME) and OUT_DIR/expected.json (the targets and their contents).
Run by `cargo test -p rampart-update -- --ignored` (scripts/test installs `tuf`).
"""

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

SPEC = "1.0.31"


def main() -> None:
    out = Path(sys.argv[1])
    meta_dir = out / "metadata"
    targets_dir = out / "targets"
    meta_dir.mkdir(parents=True, exist_ok=True)
    targets_dir.mkdir(parents=True, exist_ok=True)
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)

    signers = {
        "root": [CryptoSigner.generate_ed25519()],
        "timestamp": [CryptoSigner.generate_ecdsa()],
        "snapshot": [CryptoSigner.generate_rsa()],
        "targets": [CryptoSigner.generate_ecdsa(), CryptoSigner.generate_rsa()],
    }
    delegate = "team x"
    delegate_signer = CryptoSigner.generate_ed25519()

    root = Root(expires=expires, consistent_snapshot=True, spec_version=SPEC)
    for role, role_signers in signers.items():
        for signer in role_signers:
            root.add_key(signer.public_key, role)
        root.roles[role].threshold = len(role_signers)

    def write(md: Metadata, name: str) -> bytes:
        data = md.to_bytes(JSONSerializer(compact=False))
        (meta_dir / name).write_bytes(data)
        return data

    def sign(md: Metadata, role_signers) -> Metadata:
        md.signatures.clear()
        for signer in role_signers:
            md.sign(signer, append=True)
        return md

    write(sign(Metadata(root), signers["root"]), "1.root.json")

    # Root rotation: version 2 with a new (ecdsa) root key, signed by the old and the new.
    new_root_signer = CryptoSigner.generate_ecdsa()
    old_root_signer = signers["root"][0]
    root.revoke_key(old_root_signer.public_key.keyid, "root")
    root.add_key(new_root_signer.public_key, "root")
    root.version = 2
    write(sign(Metadata(root), [old_root_signer, new_root_signer]), "2.root.json")
    signers["root"] = [new_root_signer]

    contents = {
        "file.txt": b"a target signed by python-tuf\n",
        "dir/other bin": b"\x00\x01binary\xff" * 100,
        "delegated/one.txt": b"from the delegated role\n",
    }

    def target_file(name: str) -> TargetFile:
        data = contents[name]
        info = TargetFile.from_data(name, data, ["sha256", "sha512"])
        directory, _, base = name.rpartition("/")
        for digest in info.hashes.values():
            path = targets_dir / directory / f"{digest}.{base}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return info

    delegated = Targets(version=1, spec_version=SPEC, expires=expires)
    delegated.targets["delegated/one.txt"] = target_file("delegated/one.txt")
    # Stored under the plain role name: a static server decodes the %-escaped request path.
    delegated_bytes = write(
        sign(Metadata(delegated), [delegate_signer]), f"1.{delegate}.json"
    )

    targets = Targets(version=1, spec_version=SPEC, expires=expires)
    for name in ["file.txt", "dir/other bin"]:
        targets.targets[name] = target_file(name)
    targets.delegations = Delegations(
        keys={delegate_signer.public_key.keyid: delegate_signer.public_key},
        roles={
            delegate: DelegatedRole(
                name=delegate,
                keyids=[delegate_signer.public_key.keyid],
                threshold=1,
                terminating=True,
                paths=["delegated/*"],
            )
        },
    )
    targets_bytes = write(sign(Metadata(targets), signers["targets"]), "1.targets.json")

    def meta(version: int, data: bytes) -> MetaFile:
        return MetaFile.from_data(version, data, ["sha256"])

    snapshot = Snapshot(version=1, spec_version=SPEC, expires=expires)
    snapshot.meta = {
        "targets.json": meta(1, targets_bytes),
        f"{delegate}.json": meta(1, delegated_bytes),
    }
    snapshot_bytes = write(sign(Metadata(snapshot), signers["snapshot"]), "1.snapshot.json")

    timestamp = Timestamp(version=1, spec_version=SPEC, expires=expires)
    timestamp.snapshot_meta = meta(1, snapshot_bytes)
    write(sign(Metadata(timestamp), signers["timestamp"]), "timestamp.json")

    expected = {name: data.hex() for name, data in contents.items()}
    (out / "expected.json").write_text(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main()
