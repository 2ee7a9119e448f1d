"""ABI-mode call overhead: rcffi vs upstream cffi vs ctypes, prebound functions.

    python bench/bench_calls.py [--quick] [--json out.json]

The project's target for calls: an ABI-mode call takes at most half of
upstream cffi's time.  Measured here on prebound function objects (``f =
lib.add`` once, then ``f(1, 2)``), so that the library's attribute lookup is
not part of the number (``bench_ops.py`` includes it):

* ``add(1, 2)``: ``int add(int, int)`` from a tiny library compiled here;
* ``mix6(...)``: six mixed arguments (int, long, double, pointer,
  unsigned short, long long) returning ``long``, same library;
* ``sin(0.5)``: a ``double`` result, libc's ``sin`` through ``dlopen(None)``;
* ``strlen(TEXT)``: ``bytes`` for a ``const char *``, libc.

Every implementation releases the GIL around the C call (ctypes too), which
alone costs ~40 ns on CPython 3.11.  Same method as ``bench_ops.py``: one
statement in a ``timeit`` loop, samples round-robin over the
implementations, median in ns per call minus an empty loop iteration,
thread CPU time (``RCFFI_BENCH_TIMER=wall`` for wall time).
"""
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import timeit

import _common
from _common import fmt_ns, median, print_table, ratio

C_SOURCE = """
int add(int a, int b) { return a + b; }
long mix6(int a, long b, double c, void *p, unsigned short d, long long e)
{ return a + b + (long)c + (p != 0) + d + e; }
"""

CDEF = """
int add(int, int);
long mix6(int, long, double, void *, unsigned short, long long);
double sin(double);
size_t strlen(const char *);
"""

TEXT = b"hello world, " * 3

CALLS = [
    ("add(1, 2)", "add(1, 2)", 3),
    ("mix6(1, 2, 3.5, p, 4, 5)", "mix6(1, 2, 3.5, P, 4, 5)", 16),
    ("sin(0.5)", "sin(0.5)", None),
    ("strlen(bytes)", "strlen(TEXT)", len(TEXT)),
]


def build_clib():
    tmp = tempfile.mkdtemp(prefix="rcffi-bench-calls-")
    src = os.path.join(tmp, "calls.c")
    so = os.path.join(tmp, "libcalls.so")
    with open(src, "w") as f:
        f.write(C_SOURCE)
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", src, "-o", so],
                   check=True, capture_output=True)
    return so, tmp


def ns_cffi(module, so):
    ffi = module.FFI()
    ffi.cdef(CDEF)
    lib = ffi.dlopen(so)
    libc = ffi.dlopen(None)
    # the function objects do not keep their library alive: keep it here
    return {"add": lib.add, "mix6": lib.mix6, "sin": libc.sin,
            "strlen": libc.strlen, "TEXT": TEXT, "P": ffi.new("char[16]"),
            "_keep": (ffi, lib, libc)}


def ns_ctypes(so):
    lib = ctypes.CDLL(so)
    libc = ctypes.CDLL(None)
    lib.add.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.add.restype = ctypes.c_int
    lib.mix6.argtypes = [ctypes.c_int, ctypes.c_long, ctypes.c_double,
                         ctypes.c_void_p, ctypes.c_ushort, ctypes.c_longlong]
    lib.mix6.restype = ctypes.c_long
    libc.sin.argtypes = [ctypes.c_double]
    libc.sin.restype = ctypes.c_double
    libc.strlen.argtypes = [ctypes.c_char_p]
    libc.strlen.restype = ctypes.c_size_t
    return {"add": lib.add, "mix6": lib.mix6, "sin": libc.sin,
            "strlen": libc.strlen, "TEXT": TEXT,
            "P": ctypes.create_string_buffer(16), "_keep": (lib, libc)}


def run(quick=False, timer_name=None):
    timer_name, timer = _common.get_timer(timer_name)
    target = 0.004 if quick else 0.010
    rounds = 5 if quick else 15
    so, tmp = build_clib()
    try:
        spaces = {}
        missing = {}
        for impl in _common.load_impls():
            if impl.module is None:
                missing[impl.name] = impl.error
            else:
                spaces[impl.name] = ns_cffi(impl.module, so)
        spaces["ctypes"] = ns_ctypes(so)
        names = list(spaces)

        def cell(stmt, ns):
            t = timeit.Timer(stmt, globals=ns, timer=timer)
            n = 1000
            while t.timeit(n) < target / 4:
                n *= 4
            return t, n

        base = {}
        for name in names:
            t, n = cell("pass", spaces[name])
            base[name] = median([t.timeit(n) / n for _ in range(5)])
        rows = []
        for label, stmt, expect in CALLS:
            cells = {}
            for name in names:
                got = eval(stmt, spaces[name])
                if expect is not None and got != expect:
                    raise AssertionError("%s: %s gives %r, not %r"
                                         % (name, stmt, got, expect))
                cells[name] = cell(stmt, spaces[name])
            samples = {name: [] for name in names}
            for r in range(rounds):
                order = names if r % 2 == 0 else names[::-1]
                for name in order:
                    t, n = cells[name]
                    samples[name].append(t.timeit(n) / n)
            ns = {name: max((median(samples[name]) - base[name]) * 1e9, 0.1)
                  for name in names}
            rows.append({"call": label, "ns": ns,
                         "rcffi_over_cffi": ratio(ns.get("rcffi"),
                                                  ns.get("cffi"))})
        return {"timer": timer_name, "rounds": rounds, "calls": rows,
                "loop_overhead_ns": {k: v * 1e9 for k, v in base.items()},
                "missing": missing}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def print_result(res, out=sys.stdout):
    print("== ABI calls, prebound (ns/call, %s time, median of %d rounds, net "
          "of loop overhead; target: rcffi/cffi <= 0.50) =="
          % (res["timer"], res["rounds"]), file=out)
    rows = []
    for r in res["calls"]:
        q = r["rcffi_over_cffi"]
        rows.append([r["call"]] + [fmt_ns(r["ns"].get(n))
                                   for n in ("rcffi", "cffi", "ctypes")]
                    + ["-" if q is None else "%.2f" % q])
    print_table(["call", "rcffi", "cffi", "ctypes", "rcffi/cffi"], rows,
                out=out)
    for k, v in sorted(res["missing"].items()):
        print("  %s not measured: %s" % (k, v), file=out)
    print(file=out)


def main(argv=None):
    args = _common.parse_args(__doc__, argv)
    res = run(quick=args.quick)
    print_result(res)
    _common.save_json(args.json, "calls", res)


if __name__ == "__main__":
    main()
