"""pytest plugin of the upstream conformance ratchet (tests/upstream/run.py
loads it with ``-p rcffi_ratchet_plugin``).

It appends one JSON object per line to the file named by
$RCFFI_RATCHET_STREAM and flushes each line to disk at once, so that the
outcome of every finished test survives if the interpreter then crashes
(segfault, abort) or is killed by the timeout:

  {"ev": "begin", "id": NODEID}                        a test starts
  {"ev": "end", "id": NODEID, "outcome": O, "s": T}    it is done
  {"ev": "collect-error", "id": NODEID, "msg": TEXT}   a file did not import

O is one of passed, failed, skipped, error: 'error' when setup or teardown
failed, 'skipped' also for xfail, 'passed' also for xpass.
"""
import json
import os

_stream = None
_outcomes = {}


def _write(record):
    global _stream
    path = os.environ.get("RCFFI_RATCHET_STREAM")
    if not path:
        return
    if _stream is None:
        _stream = open(path, "a", encoding="utf-8")
    _stream.write(json.dumps(record) + "\n")
    _stream.flush()
    try:
        os.fsync(_stream.fileno())
    except OSError:
        pass


def pytest_runtest_logstart(nodeid, location):
    _outcomes[nodeid] = None
    _write({"ev": "begin", "id": nodeid})


def _phase_outcome(report, previous):
    if report.when == "call":
        if report.passed:
            return "passed"
        if report.skipped or hasattr(report, "wasxfail"):
            return "skipped"
        return "failed"
    if report.failed:
        # a failing setup is an error; a failing teardown turns a pass
        # into an error, but leaves a failure a failure
        return "failed" if previous == "failed" else "error"
    if report.when == "setup" and report.skipped:
        return "skipped"
    return previous


def pytest_runtest_logreport(report):
    outcome = _phase_outcome(report, _outcomes.get(report.nodeid))
    _outcomes[report.nodeid] = outcome
    if report.when == "teardown":
        _write({"ev": "end", "id": report.nodeid,
                "outcome": outcome or "error",
                "s": round(getattr(report, "duration", 0.0), 3)})


def pytest_collectreport(report):
    if report.failed:
        _write({"ev": "collect-error", "id": report.nodeid or "<collect>",
                "msg": str(report.longrepr)[-3000:]})
