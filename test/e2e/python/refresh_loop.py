"""An unmodified python-tuf ngclient that refreshes on request, for tests that refresh in a loop.

usage: refresh_loop.py METADATA_BASE_URL METADATA_DIR ; METADATA_DIR/root.json is the trusted root.
Reads one JSON target path per line on stdin. For each: a new Updater on METADATA_DIR (so the
trusted metadata carries over, as for a returning pip), refresh(), get_targetinfo(path). Answers
one JSON line: {"ok": true, "found": bool, "root": N} or {"ok": false, "error": "Class: message"}.
"""
import json
import sys
import tempfile

from tuf.ngclient import Updater, UpdaterConfig

base, metadata_dir = sys.argv[1], sys.argv[2]
targets_dir = tempfile.mkdtemp()
for line in sys.stdin:
    path = json.loads(line)
    try:
        updater = Updater(metadata_dir, base, targets_dir, config=UpdaterConfig(prefix_targets_with_hash=True))
        updater.refresh()
        found = updater.get_targetinfo(path) is not None
        with open(f"{metadata_dir}/root.json") as f:
            root = json.load(f)["signed"]["version"]
        answer = {"ok": True, "found": found, "root": root}
    except Exception as e:  # noqa: BLE001 - every failure is a failed refresh the test reports
        answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(answer), flush=True)
