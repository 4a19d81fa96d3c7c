"""Run a command in a subprocess with a time limit, and measure its peak memory (RSS)."""
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass

MAX_SECONDS = 60
MAX_RSS_MB = 2048


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float

    def check_bounded(self, seconds: float = MAX_SECONDS, rss_mb: float = MAX_RSS_MB) -> None:
        assert self.seconds < seconds, f"took {self.seconds:.1f} s (limit {seconds} s)\n{self.stderr[-2000:]}"
        assert self.peak_mb < rss_mb, f"peak RSS {self.peak_mb:.0f} MB (limit {rss_mb} MB)"
        assert "Traceback" not in self.stderr + self.stdout, self.stderr[-3000:]


def run_bounded(cmd, timeout: float = MAX_SECONDS * 2, env=None, cwd=None, preexec_fn=None) -> Run:
    """Waits with wait4, so the peak RSS is this child's own (ru_maxrss), not the test process's."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env={**os.environ, **(env or {})}, cwd=cwd,
                                text=True, preexec_fn=preexec_fn, start_new_session=True)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - t0 > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.monotonic() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(proc.returncode, out.read(), err.read(), seconds, usage.ru_maxrss / 1024)
