"""1-1 IM session load: the highest call rate ``imkit server`` takes with no
failed call, against sipp answering the same calls itself (issue 5).

sipp (Debian sip-tester) is the caller in both runs, with one scenario,
``bench/sipp/uac_msrp.xml``: an INVITE with an MSRP SDP offer (RFC 4975
section 8, ``a=setup:actpass``, RFC 6135), [100], 200, ACK, BYE, 200, the ACK
and BYE along the 200's Record-Route.  The callee is either

* ``imkit``: an ``imkit server`` process (UDP, ``-q``, ``--max-user-sessions
  1024``) whose simulated user ``bob`` answers with an MSRP answer (passive:
  its one MSRP listener waits for the offerer's connection, which sipp never
  opens; the BYE withdraws the session), the server proxying every request
  (RFC 3261 section 16, record-routing);
* ``sipp``: a sipp UAS (``bench/sipp/uas_msrp.xml``: 100, 200 with an MSRP
  answer, then ACK, BYE, 200), the reference;
* ``python-proxy`` and ``python-uas``: the CPython floor
  (``bench/python_floor.py``): asyncio programs that do the least work that
  answers the same calls, parsing nothing and keeping no state.
  ``python-proxy`` has imkit's topology (a record-routing forwarder in front of
  a UAS on a second socket of the same process: nine datagrams in and nine out
  per call); ``python-uas`` answers by itself, like sipp's UAS.  What they
  sustain bounds what any CPython program of that shape can do here.

Each callee climbs the same ladder of rates (``--rates``, calls per second).
A step lasts ``--step-seconds`` worth of calls (``rate * step_seconds``
calls, at least ``--min-calls``, at most ``--max-calls``) against a callee
started afresh for the step.  A step passes when sipp exits 0, its
statistics (``-trace_stat``) count every call successful and none failed,
and the calls completed at 90 % or more of the rate asked for: a callee that
only keeps up by falling behind does not pass.  A call fails when an answer
is later than ``--recv-timeout`` ms.  The climb stops at the first failure,
then ``--refine`` bisection steps (geometric) between the last pass and the
first failure sharpen the result.  Short steps do not show a callee's steady
state: imkit holds each finished transaction for up to 32 s (RFC 3261 Timers
J, H and D; RFC 6026 Timer L).  So the best rate of the climb is then held for
``--sustain`` seconds (40 by default); if that fails, the rate is lowered by
√2 and held again, at most ``--sustain-tries`` times.  The verdict compares
sustained rates.

Everything listens on 127.0.0.1; every process is stopped by its PID.

    python bench/bench_sipp_load.py [--markdown] [--callees imkit,sipp]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
UAC_SCENARIO = HERE / "sipp" / "uac_msrp.xml"
UAS_SCENARIO = HERE / "sipp" / "uas_msrp.xml"
FLOOR = HERE / "python_floor.py"
CALLEES = ("imkit", "python-proxy", "python-uas", "sipp")
HOST = "127.0.0.1"
CALLEE_USER = "bob"
DEFAULT_RATES = (5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480)
#: a step passes only if its calls complete at this share of the rate or more
PACE = 0.9
TARGET_RATIO = 0.25
#: bob's sessions at once (the server's default is 64): a pause of the server
#: (a garbage collection) lets calls pile up, and the benchmark measures what
#: the server completes, not a simulated user's busy policy
MAX_USER_SESSIONS = 1024
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
#: after the last call: time for the callee to release what the calls held
SETTLE = 1.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclasses.dataclass(frozen=True)
class Step:
    """One rate step against one callee."""

    callee: str
    rate: int
    calls: int
    exit_code: int
    successful: int
    failed: int
    retransmissions: int
    elapsed: float
    #: mean INVITE -> 200 time (sipp's ResponseTime1), ms
    response_ms: float
    #: mean call length (INVITE sent -> 200 of the BYE), ms
    call_ms: float
    #: CPU seconds the callee and the caller spent on the step
    callee_cpu: float
    caller_cpu: float
    #: the callee's open file descriptors before the step and SETTLE s after it
    fds_before: int
    fds_after: int
    rss_mb: float
    note: str = ""
    #: "ladder" (climb and bisection) or "sustained" (held for --sustain s)
    kind: str = "ladder"

    @property
    def achieved(self) -> float:
        return self.successful / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def passed(self) -> bool:
        return (self.exit_code == 0 and self.failed == 0 and self.successful == self.calls
                and self.achieved >= PACE * self.rate)


# ------------------------------------------------------------------ processes

def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def udp_bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
        return False


def cpu_seconds(pid: int) -> float:
    """utime + stime of a running process, from /proc/PID/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_mb(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * PAGE_SIZE / 1e6


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's PID, then SIGKILL if it does not exit."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(STOP_TIMEOUT)


def start_imkit(port: int, workdir: Path, profile: Path | None) -> subprocess.Popen[bytes]:
    """``imkit server`` on HOST:port (UDP), once it says it listens."""
    argv = [sys.executable]
    if profile is not None:
        argv += ["-m", "cProfile", "-o", str(profile)]
    argv += ["-m", "imkit.cli", "server", "--host", HOST, "--port", str(port), "--transport", "udp",
             "--user", f"{CALLEE_USER}=answer", "--max-user-sessions", str(MAX_USER_SESSIONS), "-q"]
    return start_listening("imkit server", argv, workdir / "imkit-server.out")


def start_floor(mode: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """``bench/python_floor.py`` on HOST:port, once it says it listens."""
    argv = [sys.executable, str(FLOOR), "--mode", mode, "--port", str(port)]
    return start_listening("python floor", argv, workdir / "python-floor.out")


def start_listening(what: str, argv: list[str], out: Path) -> subprocess.Popen[bytes]:
    """Start ``argv`` with its output in ``out``, once it prints "listening"."""
    with out.open("wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while b"listening" not in out.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"{what} did not start: {out.read_bytes()[-2000:]!r}")
        time.sleep(0.05)
    return proc


def start_callee(callee: str, port: int, workdir: Path, profile: Path | None) -> subprocess.Popen[bytes]:
    if callee == "imkit":
        return start_imkit(port, workdir, profile)
    if callee == "sipp":
        return start_sipp_uas(port, workdir)
    return start_floor(callee.removeprefix("python-"), port, workdir)


def start_sipp_uas(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    argv = [sipp_binary(), "-sf", str(UAS_SCENARIO), "-i", HOST, "-p", str(port), "-t", "u1",
            "-s", CALLEE_USER, "-nostdin", "-trace_err", "-max_recv_loops", "10000"]
    log = (workdir / "sipp-uas.out").open("wb")
    proc = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while not udp_bound(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"sipp UAS did not start, see {workdir}")
        time.sleep(0.05)
    return proc


def sipp_binary() -> str:
    path = shutil.which("sipp") or "/usr/bin/sipp"
    if not os.access(path, os.X_OK):
        raise SystemExit("sipp not found: apt-get install sip-tester")
    return path


def sipp_version() -> str:
    out = subprocess.run([sipp_binary(), "-v"], capture_output=True, text=True, timeout=10,
                         check=False).stdout
    return next((w for w in out.split() if w.startswith("v")), "?").split("-")[0]


def run_caller(remote_port: int, rate: int, calls: int, recv_timeout_ms: int,
               workdir: Path) -> tuple[int, float, dict[str, str]]:
    """Run the sipp UAC to the end: its exit code, CPU seconds and last statistics row."""
    stat = workdir / "uac-stat.csv"
    duration = calls / rate
    overall = int(duration + 3 * recv_timeout_ms / 1000 + 10)
    argv = [
        sipp_binary(), "-sf", str(UAC_SCENARIO), "-i", HOST, "-p", str(free_udp_port()), "-t", "u1",
        "-s", CALLEE_USER, "-r", str(rate), "-rp", "1000", "-m", str(calls), "-l", str(calls),
        "-recv_timeout", str(recv_timeout_ms), "-timeout", f"{overall}s", "-timeout_error",
        "-nostdin", "-trace_err", "-trace_stat", "-stf", str(stat), "-fd", "3600",
        "-max_recv_loops", "10000", f"{HOST}:{remote_port}",
    ]  # fmt: skip
    log = (workdir / "sipp-uac.out").open("wb")
    proc = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + overall + 15
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            stop(proc)
            return -1, 0.0, {}
        time.sleep(0.05)
    rows = list(csv.DictReader(stat.open(newline=""), delimiter=";")) if stat.exists() else []
    return proc.returncode, usage.ru_utime + usage.ru_stime, rows[-1] if rows else {}


def _ms(value: str) -> float:
    """sipp's "HH:MM:SS:uuuuuu" as milliseconds."""
    try:
        h, m, s, us = (int(part) for part in value.split(":"))
    except ValueError:
        return math.nan
    return ((h * 60 + m) * 60 + s) * 1000 + us / 1000


def _count(stats: dict[str, str], key: str) -> int:
    return int(stats.get(key, "0") or 0)


def _epoch(value: str) -> float:
    return float(value.split("\t")[-1]) if value else math.nan


def run_step(callee: str, rate: int, args: argparse.Namespace, workdir: Path, kind: str = "ladder") -> Step:
    stepdir = workdir / f"{callee}-{rate}-{kind}"
    stepdir.mkdir()
    seconds = args.sustain if kind == "sustained" else args.step_seconds
    calls = min(args.max_calls, max(args.min_calls, round(rate * seconds)))
    port = free_udp_port()
    profile = args.profile if callee == "imkit" and rate == args.profile_rate and kind == "ladder" else None
    server = start_callee(callee, port, stepdir, profile)
    try:
        time.sleep(0.2)
        cpu_before, fds_before = cpu_seconds(server.pid), open_fds(server.pid)
        code, caller_cpu, stats = run_caller(port, rate, calls, args.recv_timeout, stepdir)
        time.sleep(SETTLE)
        callee_cpu = cpu_seconds(server.pid) - cpu_before
        fds_after, rss = open_fds(server.pid), rss_mb(server.pid)
    finally:
        stop(server)
    elapsed = _epoch(stats.get("CurrentTime", "")) - _epoch(stats.get("StartTime", ""))
    failures = [k[len("Failed"):-3] for k in stats if k.startswith("Failed") and k.endswith("(C)")
                and k != "FailedCall(C)" and _count(stats, k)]
    return Step(
        callee=callee, rate=rate, calls=calls, exit_code=code, successful=_count(stats, "SuccessfulCall(C)"),
        failed=_count(stats, "FailedCall(C)"), retransmissions=_count(stats, "Retransmissions(C)"),
        elapsed=0.0 if math.isnan(elapsed) else elapsed,
        response_ms=_ms(stats.get("ResponseTime1(C)", "")), call_ms=_ms(stats.get("CallLength(C)", "")),
        callee_cpu=callee_cpu, caller_cpu=caller_cpu, fds_before=fds_before, fds_after=fds_after,
        rss_mb=rss,
        note=", ".join(failures + unexpected_statuses(stepdir)) if stats else "no statistics",
        kind=kind,
    )


def unexpected_statuses(stepdir: Path) -> list[str]:
    """The responses that made sipp abort a call, from its error log: ["13× 486", ...]."""
    counts: dict[str, int] = {}
    for log in stepdir.glob("*_errors.log"):
        for match in re.finditer(r"unexpected message.*?received 'SIP/2\.0 (\d{3})", log.read_text(errors="replace")):
            counts[match[1]] = counts.get(match[1], 0) + 1
    return [f"{n}× {status}" for status, n in sorted(counts.items())]


def climb(callee: str, args: argparse.Namespace, workdir: Path) -> list[Step]:
    """The ladder up to the first failure, then the bisection steps."""
    steps: list[Step] = []
    best: int | None = None
    worst: int | None = None
    for rate in args.rates:
        step = run_step(callee, rate, args, workdir)
        steps.append(step)
        report(step)
        if not step.passed:
            worst = rate
            break
        best = rate
    for _ in range(args.refine if best is not None and worst is not None else 0):
        assert best is not None and worst is not None
        rate = round(math.sqrt(best * worst))
        if rate in (best, worst):
            break
        step = run_step(callee, rate, args, workdir)
        steps.append(step)
        report(step)
        if step.passed:
            best = rate
        else:
            worst = rate
    return steps + sustain(callee, best, args, workdir)


def sustain(callee: str, best: int | None, args: argparse.Namespace, workdir: Path) -> list[Step]:
    """Hold the climb's best rate for --sustain s; lower it by √2 until a hold passes."""
    steps: list[Step] = []
    rate = best
    for _ in range(args.sustain_tries if args.sustain > 0 else 0):
        if rate is None or rate < 1:
            break
        step = run_step(callee, rate, args, workdir, kind="sustained")
        steps.append(step)
        report(step)
        if step.passed:
            break
        rate = math.floor(rate / math.sqrt(2))
    return steps


def highest(steps: list[Step]) -> int | None:
    """The best sustained rate when any hold was run, else the climb's best."""
    held = [s for s in steps if s.kind == "sustained"]
    passed = [s.rate for s in (held or steps) if s.passed]
    return max(passed) if passed else None


# -------------------------------------------------------------------- output

HEADER = ("callee", "step", "rate (cps)", "calls", "ok", "failed", "retrans", "achieved (cps)",
          "INVITE→200 (ms)", "call (ms)", "callee CPU/call (ms)", "caller CPU/call (ms)",
          "callee fds before/after", "callee RSS (MB)", "result")


def row(step: Step) -> tuple[str, ...]:
    def per_call(cpu: float) -> str:
        return f"{1000 * cpu / step.calls:.2f}"

    result = "pass" if step.passed else "FAIL" + (f" ({step.note})" if step.note else "")
    if not step.passed and step.failed == 0 and step.exit_code == 0:
        result = f"FAIL (pace {step.achieved / step.rate:.0%})"
    return (step.callee, step.kind, str(step.rate), str(step.calls), str(step.successful), str(step.failed),
            str(step.retransmissions), f"{step.achieved:.1f}", f"{step.response_ms:.0f}",
            f"{step.call_ms:.0f}", per_call(step.callee_cpu), per_call(step.caller_cpu),
            f"{step.fds_before}/{step.fds_after}", f"{step.rss_mb:.0f}", result)


def report(step: Step) -> None:
    print("  " + "  ".join(row(step)), flush=True)


def text_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def md_table(rows: list[tuple[str, ...]], right_from: int = 1) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |",
             "|" + "|".join("---" if i < right_from else "---:" for i in range(len(rows[0]))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def summary_rows(results: dict[str, list[Step]]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("callee", "climb: highest passing rate (cps)", "climb: first failing rate (cps)",
                                    "sustained rate (cps)", "CPU/call at that rate (ms)", "vs sipp")]
    sipp = highest(results.get("sipp", []))
    for callee, steps in results.items():
        climb_steps = [s for s in steps if s.kind == "ladder"]
        best_climb = max((s.rate for s in climb_steps if s.passed), default=None)
        failing = sorted(s.rate for s in climb_steps if not s.passed)
        held = [s for s in steps if s.kind == "sustained" and s.passed]
        best = highest(steps)
        at = next((s for s in (held or climb_steps) if s.rate == best and s.passed), None)
        rows.append((
            callee, "none" if best_climb is None else str(best_climb),
            str(failing[0]) if failing else "none (ladder top)",
            str(held[0].rate) if held else "not held",
            f"{1000 * at.callee_cpu / at.calls:.2f}" if at else "-",
            f"{best / sipp:.3f}" if best and sipp else "-",
        ))
    return rows


def verdict(results: dict[str, list[Step]]) -> str:
    imkit = highest(results.get("imkit", []))
    sipp = highest(results.get("sipp", []))
    if imkit is None or sipp is None:
        return "ratio: not measured (a callee passed no step)"
    # a callee that never failed its climb reached the top of the ladder: its rate is a floor
    topped = {c: all(s.passed for s in results[c] if s.kind == "ladder") for c in ("imkit", "sipp")}
    ratio = imkit / sipp
    met = "met" if ratio >= TARGET_RATIO else "missed"
    if topped["sipp"] and not topped["imkit"] and ratio >= TARGET_RATIO:
        met = "not decided (sipp reached the top of the ladder)"
    sign = "≤ " if topped["sipp"] and not topped["imkit"] else ""
    text = (f"imkit / sipp = {imkit}{'+' if topped['imkit'] else ''} / {sipp}{'+' if topped['sipp'] else ''} "
            f"= {sign}{ratio:.3f} (target ≥ {TARGET_RATIO:.2f}: {met})")
    floor = highest(results.get("python-proxy", []))
    if floor:
        text += (f"; the CPython floor of imkit's shape (python-proxy) / sipp = {floor / sipp:.3f}, "
                 f"imkit / python-proxy = {imkit / floor:.3f}")
    return text


def imkit_version() -> str:
    try:
        from importlib.metadata import version
        return version("imkit")
    except Exception:  # noqa: BLE001 - only a label
        return "?"


def markdown(results: dict[str, list[Step]], args: argparse.Namespace, started: datetime.datetime,
             load: tuple[tuple[float, ...], tuple[float, ...]]) -> str:
    before, after = load
    steps = [row(s) for callee in results for s in results[callee]]
    lines = [
        "**Command.**", "", "```sh", "python bench/bench_sipp_load.py " + " ".join(sys.argv[1:]),
        "```", "", "**Run.**", "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC.",
        (f"- Machine: {os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}, "
        "shared with other jobs. Load average (1, 5, 15 min): "
        f"{before[0]:.2f}, {before[1]:.2f}, {before[2]:.2f} before the run; "
        f"{after[0]:.2f}, {after[1]:.2f}, {after[2]:.2f} after it."),
        (f"- Python: {platform.python_implementation()} {platform.python_version()}; "
        f"imkit {imkit_version()} (this checkout); SIPp {sipp_version()} (Debian sip-tester)."),
        (f"- Steps: {args.step_seconds:g} s of calls per step (at least {args.min_calls}, at most "
        f"{args.max_calls}), `-recv_timeout {args.recv_timeout}` ms, UDP, "
        f"{args.refine} bisection steps, then holds of {args.sustain:g} s (at most "
        f"{args.sustain_tries}). A step passes with 0 failed calls and its calls "
        f"completed at ≥ {PACE:.0%} of the rate."), "",
        f"**Result:** {verdict(results)}.", "",
        md_table(summary_rows(results)), "", "#### Every step", "",
        md_table([HEADER, *steps], right_from=2),
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callees", default=",".join(CALLEES),
                        help=f"some of {', '.join(CALLEES)} (default: all)")
    parser.add_argument("--rates", default=",".join(map(str, DEFAULT_RATES)),
                        help="the ladder, calls per second, rising")
    parser.add_argument("--step-seconds", type=float, default=5.0, help="seconds of calls per step")
    parser.add_argument("--min-calls", type=int, default=50)
    parser.add_argument("--max-calls", type=int, default=1_000_000)
    parser.add_argument("--sustain", type=float, default=40.0,
                        help="seconds to hold the climb's best rate (0: no hold)")
    parser.add_argument("--sustain-tries", type=int, default=4,
                        help="holds at most, each √2 lower than the one that failed")
    parser.add_argument("--recv-timeout", type=int, default=2000,
                        help="ms sipp waits for each answer before the call fails")
    parser.add_argument("--refine", type=int, default=2, help="bisection steps after the ladder")
    parser.add_argument("--markdown", action="store_true", help="print the BENCHMARKS.md text")
    parser.add_argument("--json", type=Path, help="also write every step and the verdict to this file")
    parser.add_argument("--keep", type=Path, help="keep sipp's and the server's logs in this folder")
    parser.add_argument("--profile", type=Path, help="cProfile output of the imkit server ...")
    parser.add_argument("--profile-rate", type=int, help="... at this rate of the ladder (a callee run only)")
    args = parser.parse_args(argv)
    args.callees = [c for c in args.callees.split(",") if c]
    if not set(args.callees) <= set(CALLEES):
        parser.error(f"--callees: some of {', '.join(CALLEES)}")
    args.rates = sorted(int(r) for r in args.rates.split(","))
    if args.profile is not None and args.profile_rate not in args.rates:
        parser.error("--profile needs --profile-rate, one of --rates")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    results: dict[str, list[Step]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sipp-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}", flush=True)
        print("  " + "  ".join(HEADER), flush=True)
        for callee in args.callees:
            results[callee] = climb(callee, args, workdir)
    load_after = os.getloadavg()
    print()
    print(text_table([HEADER, *(row(s) for steps in results.values() for s in steps)]))
    print()
    print(text_table(summary_rows(results)))
    print(verdict(results))
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps({
            "verdict": verdict(results),
            "highest": {callee: highest(steps) for callee, steps in results.items()},
            "steps": [{**dataclasses.asdict(s), "passed": s.passed} for steps in results.values() for s in steps],
        }, indent=1))
    if args.markdown:
        print()
        print(markdown(results, args, started, (load_before, load_after)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
