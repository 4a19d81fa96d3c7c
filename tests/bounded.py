"""Run a command in a subprocess with a time limit, and measure its peak memory (RSS)."""
import os
import signal
import subprocess
import sys
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
    """Waits with wait4, so the peak RSS is the command's own (ru_maxrss), not the test process's.

    A child forked from the test process counts the test process's resident pages until it execs
    (Linux keeps that high-water mark in ru_maxrss), so a test process holding a model would be
    measured instead of the command. The command is therefore started by a small launcher (this file
    run as a script), and the launcher reports its child's ru_maxrss."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), peak.name, *map(str, cmd)],
                                stdout=out, stderr=err, env={**os.environ, **(env or {})}, cwd=cwd,
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
        reported = peak.read().strip()          # empty when the launcher was killed (timeout)
        peak_kb = int(reported) if reported else usage.ru_maxrss
        return Run(proc.returncode, out.read(), err.read(), seconds, peak_kb / 1024)


def _launch(peak_file: str, cmd: list[str]) -> None:
    """Run ``cmd`` as a child of this small process, write its ru_maxrss (KB) to ``peak_file``,
    and end the way it ended (same exit code, or the same signal)."""
    child = subprocess.Popen(cmd)
    _, status, usage = os.wait4(child.pid, 0)
    with open(peak_file, "w") as f:
        f.write(str(usage.ru_maxrss))
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):          # SIGKILL and SIGSTOP keep their default
            pass
        os.kill(os.getpid(), sig)
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    _launch(sys.argv[1], sys.argv[2:])
