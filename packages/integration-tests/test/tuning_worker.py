"""A Python worker joining a Context's session on the bridged backend.

Usage: tuning_worker.py <address> <session_id> <steps>
Reads `temperature`, then raises it `steps` times with compare-and-set, one line of JSON per write.
"""

import json
import sys

from dspex_bridge import connect


def main() -> int:
    address, session_id, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with connect(address) as client:
        session = client.session(session_id, create=False)
        for _ in range(steps):
            record = session.get_record("temperature")
            value = round(record.value + 0.1, 6)
            version = session.set("temperature", value, expected_version=record.version,
                                  metadata={"trial": str(record.version)})
            print(json.dumps({"value": value, "version": version}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
