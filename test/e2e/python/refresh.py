"""Refreshes an unmodified python-tuf ngclient against a tuf-edge and prints what it finds, as JSON.

usage: refresh.py METADATA_BASE_URL METADATA_DIR PATH... ; METADATA_DIR/root.json is the trusted root.
Prints {"root": <trusted root version>, "timestamp": <version>, "targets": {path: {"length", "hashes"} | null}}.
"""
import json
import sys
import tempfile

from tuf.ngclient import Updater, UpdaterConfig

base, metadata_dir, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
updater = Updater(metadata_dir, base, tempfile.mkdtemp(), config=UpdaterConfig(prefix_targets_with_hash=True))
updater.refresh()
found = {}
for path in paths:
    info = updater.get_targetinfo(path)
    found[path] = None if info is None else {"length": info.length, "hashes": info.hashes}
trusted = updater._trusted_set  # read-only look at what was verified, for the report
print(json.dumps({"root": trusted.root.version, "timestamp": trusted.timestamp.version, "targets": found}))
