"""Run a command and report its wall time and true peak RSS: `python -m bench.launch <result.json> <cmd...>`.

Why a launcher: Linux carries a process's RSS high-water mark across fork and exec into the child's
`ru_maxrss`, so a child of the (multi-GB) benchmark process would report the parent's peak. This small
interpreter starts the command itself; the child inherits only the launcher's few MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    result_path, cmd = argv[0], argv[1:]
    stdout_path = os.environ.pop("BENCH_LAUNCH_STDOUT", "")
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL  # noqa: SIM115
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if stdout_path:
        out.close()  # type: ignore[union-attr]
    with open(result_path, "w") as fh:
        json.dump(
            {
                "seconds": seconds,
                "max_rss_mb": usage.ru_maxrss / 1024,
                "returncode": os.waitstatus_to_exitcode(status),
            },
            fh,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
