"""Shared helpers of the benchmarks: the implementations, timers, tables."""
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

TIMERS = {
    # CPU time of this thread: what a noisy shared machine perturbs least
    "cpu": time.thread_time,
    "wall": time.perf_counter,
}


def get_timer(name=None):
    name = name or os.environ.get("RCFFI_BENCH_TIMER", "cpu")
    return name, TIMERS[name]


class Impl(object):
    """One implementation of the cffi API under test."""

    def __init__(self, name, label, module, error=None):
        self.name = name          # "rcffi" / "cffi"
        self.label = label        # for tables
        self.module = module
        self.error = error

    @property
    def FFI(self):
        return self.module.FFI

    def __repr__(self):
        return "<Impl %s>" % self.name


def load_impls():
    """[rcffi, upstream cffi]; an entry whose .module is None could not be
    imported (its .error says why)."""
    impls = []
    try:
        import rcffi
        impls.append(Impl("rcffi", "rcffi", rcffi))
    except Exception as e:          # pragma: no cover - environment
        impls.append(Impl("rcffi", "rcffi", None, "%s: %s"
                          % (type(e).__name__, e)))
    try:
        import cffi
        where = getattr(cffi, "__file__", "") or ""
        if "rcffi" in where or not cffi.FFI.__module__.startswith("cffi"):
            raise ImportError("'import cffi' gives rcffi (install-as-cffi "
                              "environment); upstream cffi is needed")
        impls.append(Impl("cffi", "cffi %s" % cffi.__version__, cffi))
    except Exception as e:          # pragma: no cover - environment
        impls.append(Impl("cffi", "cffi", None, "%s: %s"
                          % (type(e).__name__, e)))
    return impls


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def machine_info():
    info = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        info["loadavg"] = os.getloadavg()
    except OSError:
        pass
    return info


def versions(impls):
    out = {}
    for impl in impls:
        if impl.module is None:
            out[impl.name] = None
        else:
            out[impl.name] = {"version": getattr(impl.module, "__version__",
                                                 "?"),
                              "file": getattr(impl.module, "__file__", "?")}
    return out


def fmt_time(seconds):
    if seconds != seconds:      # nan
        return "n/a"
    if seconds >= 1:
        return "%.2f s" % seconds
    if seconds >= 1e-3:
        return "%.1f ms" % (seconds * 1e3)
    return "%.0f us" % (seconds * 1e6)


def fmt_ns(ns):
    if ns is None or ns != ns:
        return "n/a"
    if ns >= 100:
        return "%.0f" % ns
    return "%.1f" % ns


def fmt_ratio(r):
    if r is None or r != r:
        return "-"
    if r >= 100:
        return "%.0fx" % r
    if r >= 10:
        return "%.1fx" % r
    return "%.2fx" % r


def ratio(a, b):
    if a is None or b is None or a != a or b != b or b <= 0:
        return None
    return a / b


def fmt_q(r):
    """A ratio rcffi/peer (< 1: rcffi faster), without unit."""
    if r is None or r != r:
        return "-"
    if r >= 10:
        return "%.1f" % r
    if r >= 0.095:
        return "%.2f" % r
    return "%.3f" % r


PEERS = ("cffi", "ctypes")


def add_ratios(row, key="ns"):
    """Given row[key] = {impl: value} (smaller is better), set
    row["rcffi_over_cffi"], row["best_peer"] (the implementation other than
    rcffi with the smallest value) and row["rcffi_over_best"]."""
    vals = row[key]
    mine = vals.get("rcffi")
    row["rcffi_over_cffi"] = ratio(mine, vals.get("cffi"))
    peers = [(vals[n], n) for n in PEERS if vals.get(n) is not None]
    if peers:
        best, name = min(peers)
        row["best_peer"] = name
        row["rcffi_over_best"] = ratio(mine, best)
    else:
        row["best_peer"] = None
        row["rcffi_over_best"] = None
    return row


def fmt_best(row):
    q = row.get("rcffi_over_best")
    if q is None:
        return "-"
    return "%s %s" % (fmt_q(q), row["best_peer"])


def cell(row, name, fmt=None, key="ns"):
    """A table cell: the value, or ERROR / - ."""
    fmt = fmt or fmt_ns
    if name in row[key] and row[key][name] is not None:
        return fmt(row[key][name])
    if name in row.get("errors", {}):
        return "ERROR"
    if name in row.get("unavailable", ()):
        return "n/a"
    return "-"


def cache_dir():
    """The benchmarks' cache: corpora, the C library, built modules."""
    d = os.environ.get("RCFFI_BENCH_CACHE")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
            os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "rcffi-bench")
    return d


def print_table(headers, rows, aligns=None, out=sys.stdout):
    """rows: lists of strings; None gives an empty line.  aligns: 'l' or
    'r' per column."""
    cols = len(headers)
    aligns = aligns or (["l"] + ["r"] * (cols - 1))
    widths = [len(h) for h in headers]
    for r in rows:
        for i, c in enumerate(r or ()):
            widths[i] = max(widths[i], len(c))

    def line(cells):
        parts = []
        for i, c in enumerate(cells):
            parts.append(c.ljust(widths[i]) if aligns[i] == "l"
                         else c.rjust(widths[i]))
        return "  ".join(parts).rstrip()
    print(line(headers), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in rows:
        print("" if r is None else line(r), file=out)
    out.flush()


def parse_args(doc, argv=None, add=None):
    """The command line of every bench script: --quick, --json OUT, and
    what `add(parser)` adds."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default=None, help="write results here")
    if add is not None:
        add(ap)
    return ap.parse_args(argv)


def save_json(path, section, result):
    """Write `result` under `section`, with the machine's description, to
    `path` (nothing if it is None)."""
    if path:
        with open(path, "w") as f:
            json.dump({"machine": machine_info(), section: result}, f,
                      indent=1)
