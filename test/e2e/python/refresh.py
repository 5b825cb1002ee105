"""Refreshes an unmodified python-tuf ngclient against a tuf-edge and prints what it finds, as JSON.

usage: refresh.py METADATA_BASE_URL METADATA_DIR PATH... ; METADATA_DIR/root.json is the trusted root.
Prints {"targets": {path: {"length", "hashes"} | null}}; a failed verification exits non-zero.
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
print(json.dumps({"targets": found}))
