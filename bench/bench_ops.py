"""Micro-benchmarks of cdata operations: rcffi vs upstream cffi vs ctypes.

    python bench/bench_ops.py [--quick] [--only SUBSTR] [--json out.json]

Each operation is one Python statement run in a ``timeit`` loop (garbage
collector off during a sample, as timeit does) with the same statement text
for rcffi and upstream cffi, and the nearest ctypes spelling where ctypes has
one.  A sample lasts ~10 ms (4 ms with --quick); the loop count is calibrated
once per (operation, implementation); samples are taken round-robin over the
implementations, N rounds, and the median is reported in ns per operation,
minus the cost of an empty loop iteration (measured the same way).

Function calls (ABI mode) use a tiny C library compiled here with gcc
(``add``, ``apply`` which calls a callback) and libc through
``ffi.dlopen(None)``; they are skipped, with a note, for an implementation
that has no ``dlopen`` or ``callback`` yet.

Ratios: cffi/rcffi and ctypes/rcffi; > 1 means rcffi is faster.
"""
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
import timeit

import _common
from _common import fmt_ns, fmt_ratio, median, print_table, ratio

CDEF = """
struct point { int x; int y; };
typedef struct point point_t;
int abs(int);
size_t strlen(const char *);
int add(int, int);
int apply(int (*cb)(int, int), int, int);
"""

C_SOURCE = """
int add(int a, int b) { return a + b; }
int apply(int (*cb)(int, int), int a, int b) { return cb(a, b); }
"""

TEXT = b"hello world, " * 3          # 39 bytes + NUL

# (name, statement for rcffi and cffi, ctypes statement or None, needs)
# needs: None, "dlopen", "callback"
OPS = [
    ("new int *", 'ffi.new("int *")', "c_int()", None),
    ("new int[100]", 'ffi.new("int[100]")', "IntArr100()", None),
    ("new struct point *", 'ffi.new("struct point *")', "Point()", None),
    ("p[0] read (int *)", "p[0]", "cp[0]", None),
    ("p[0] = 42 (int *)", "p[0] = 42", "cp[0] = 42", None),
    ("arr[50] read (int[100])", "arr[50]", "ct_arr[50]", None),
    ("arr[50] = 7 (int[100])", "arr[50] = 7", "ct_arr[50] = 7", None),
    ("pt.x read (struct point *)", "pt.x", "ct_pt.x", None),
    ("pt.x = 5 (struct point *)", "pt.x = 5", "ct_pt.x = 5", None),
    ('cast("int", 42)', 'ffi.cast("int", 42)', "c_int(42)", None),
    ('cast("void *", addr)', 'ffi.cast("void *", addr)', "c_void_p(addr)",
     None),
    ('typeof("struct point *")', 'ffi.typeof("struct point *")', None, None),
    ('sizeof("struct point")', 'ffi.sizeof("struct point")', "sizeof(Point)",
     None),
    ("sizeof(cdata int[100])", "ffi.sizeof(arr)", "sizeof(ct_arr)", None),
    ("string(char[40])", "ffi.string(carr)", "ct_carr.value", None),
    ("buffer(int[100])[:]", "ffi.buffer(arr)[:]", "bytes(ct_arr)", None),
    ("from_buffer(bytearray(400))", "ffi.from_buffer(ba)",
     "CharArr400.from_buffer(ba)", None),
    ("unpack(int[100], 100)", "ffi.unpack(arr, 100)", "ct_arr[:]", None),
    ("iterate int[100]", "for _x in arr: pass", "for _x in ct_arr: pass",
     None),
    ("new_handle(obj)", "ffi.new_handle(obj)", None, None),
    ("from_handle(h)", "ffi.from_handle(h)", None, None),
    ("call libc abs(-5)", "libc.abs(-5)", "ct_libc.abs(-5)", "dlopen"),
    ("call libc strlen(bytes)", "libc.strlen(TEXT)", "ct_libc.strlen(TEXT)",
     "dlopen"),
    ("call add(1, 2)", "lib.add(1, 2)", "ct_lib.add(1, 2)", "dlopen"),
    ('callback("int(int,int)", f)', 'ffi.callback("int(int,int)", pyadd)',
     "ADDFUNC(pyadd)", "callback"),
    ("call apply(cb, 1, 2) -> Python", "lib.apply(cb, 1, 2)",
     "ct_lib.apply(ct_cb, 1, 2)", "dlopen+callback"),
]


def pyadd(a, b):
    return a + b


def build_clib():
    """Compile C_SOURCE into a temp dir; return (path, tmpdir) or
    (None, reason)."""
    tmp = tempfile.mkdtemp(prefix="rcffi-bench-ops-")
    src = os.path.join(tmp, "benchlib.c")
    so = os.path.join(tmp, "libbench.so")
    with open(src, "w") as f:
        f.write(C_SOURCE)
    try:
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", src, "-o", so],
                       check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        return None, "cannot compile the test library: %s" % (e,)
    return so, tmp


def ns_cffi(impl, so_path):
    """Namespace for one cffi-like implementation; also returns the set of
    capabilities it lacks, with the reason."""
    ffi = impl.FFI()
    ffi.cdef(CDEF)
    obj = object()
    arr = ffi.new("int[100]", list(range(100)))
    ns = {
        "ffi": ffi, "obj": obj, "TEXT": TEXT, "pyadd": pyadd,
        "p": ffi.new("int *"),
        "arr": arr,
        "pt": ffi.new("struct point *"),
        "carr": ffi.new("char[]", TEXT),
        "ba": bytearray(400),
        "addr": int(ffi.cast("intptr_t", arr)),
        "h": ffi.new_handle(obj),
    }
    lacks = {}
    try:
        ns["libc"] = ffi.dlopen(None)
        if so_path is None:
            raise OSError("no test library")
        ns["lib"] = ffi.dlopen(so_path)
    except (AttributeError, NotImplementedError) as e:
        lacks["dlopen"] = "no dlopen (%s)" % (type(e).__name__,)
    except Exception as e:
        lacks["dlopen"] = "dlopen failed: %s: %s" % (type(e).__name__, e)
    try:
        ns["cb"] = ffi.callback("int(int,int)", pyadd)
    except (AttributeError, NotImplementedError) as e:
        lacks["callback"] = "no callback (%s)" % (type(e).__name__,)
    except Exception as e:
        lacks["callback"] = "callback failed: %s: %s" % (type(e).__name__, e)
    return ns, lacks


def ns_ctypes(so_path):
    class Point(ctypes.Structure):
        _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int)]
    IntArr100 = ctypes.c_int * 100
    ADDFUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int)
    ns = {
        "c_int": ctypes.c_int, "c_void_p": ctypes.c_void_p,
        "sizeof": ctypes.sizeof, "TEXT": TEXT, "pyadd": pyadd,
        "IntArr100": IntArr100, "Point": Point, "ADDFUNC": ADDFUNC,
        "CharArr400": ctypes.c_char * 400,
        "cp": ctypes.pointer(ctypes.c_int()),
        "ct_arr": IntArr100(*range(100)),
        "ct_pt": Point(),
        "ct_carr": ctypes.create_string_buffer(TEXT),
        "ba": bytearray(400),
    }
    ns["addr"] = ctypes.addressof(ns["ct_arr"])
    lacks = {}
    libc = ctypes.CDLL(None)
    libc.abs.argtypes = [ctypes.c_int]
    libc.abs.restype = ctypes.c_int
    libc.strlen.argtypes = [ctypes.c_char_p]
    libc.strlen.restype = ctypes.c_size_t
    ns["ct_libc"] = libc
    if so_path is not None:
        lib = ctypes.CDLL(so_path)
        lib.add.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.add.restype = ctypes.c_int
        lib.apply.argtypes = [ADDFUNC, ctypes.c_int, ctypes.c_int]
        lib.apply.restype = ctypes.c_int
        ns["ct_lib"] = lib
    else:
        lacks["dlopen"] = "no test library"
    ns["ct_cb"] = ADDFUNC(pyadd)
    return ns, lacks


class _Cell(object):
    def __init__(self, stmt, ns, timer):
        self.stmt = stmt
        self.t = timeit.Timer(stmt, globals=ns, timer=timer)
        self.number = None
        self.samples = []      # seconds per op

    def calibrate(self, target):
        n = 1
        while True:
            dt = self.t.timeit(n)
            if dt >= target / 5 or n >= 10 ** 8:
                break
            n *= 10 if dt < target / 50 else 2
        self.number = max(1, int(n * target / max(dt, 1e-9)))

    def sample(self):
        self.samples.append(self.t.timeit(self.number) / self.number)


def _check_value(v):
    """A comparable form of a statement's value, or None."""
    if isinstance(v, (int, bytes, str, float)):
        return v
    if isinstance(v, list) and all(isinstance(x, int) for x in v):
        return v
    return None


def run(quick=False, only=None, timer_name=None, verbose=True):
    timer_name, timer = _common.get_timer(timer_name)
    target = 0.004 if quick else 0.010
    rounds = 5 if quick else 15
    impls = _common.load_impls()
    so_path, tmp = build_clib()
    clib_note = None
    if so_path is None:
        clib_note, tmp = tmp, None
    names = []          # columns: rcffi, cffi, ctypes
    spaces = {}
    lacks = {}
    result = {"timer": timer_name, "quick": quick, "rounds": rounds,
              "sample_target_s": target, "ops": [], "notes": [],
              "missing": {i.name: i.error for i in impls
                          if i.module is None}}
    if clib_note:
        result["notes"].append(clib_note)
    try:
        for impl in impls:
            if impl.module is None:
                continue
            try:
                spaces[impl.name], lacks[impl.name] = ns_cffi(impl, so_path)
                names.append(impl.name)
            except Exception as e:
                result["missing"][impl.name] = "setup failed: %s: %s" % (
                    type(e).__name__, e)
        spaces["ctypes"], lacks["ctypes"] = ns_ctypes(so_path)
        names.append("ctypes")
        for name in names:
            for what, why in sorted(lacks[name].items()):
                result["notes"].append("%s: %s -> its %s benchmarks skipped"
                                       % (name, why, what))
        # the cost of one empty loop iteration, subtracted from every op
        base = {}
        for name in names:
            c = _Cell("pass", spaces[name], timer)
            c.calibrate(target)
            for _ in range(max(3, rounds // 3)):
                c.sample()
            base[name] = median(c.samples)
        result["loop_overhead_ns"] = {k: v * 1e9 for k, v in base.items()}
        for op_name, stmt, ct_stmt, needs in OPS:
            if only and only.lower() not in op_name.lower():
                continue
            row = {"op": op_name, "stmt": stmt, "ctypes_stmt": ct_stmt,
                   "ns": {}, "errors": {}, "skipped": {}}
            cells = {}
            values = {}
            for name in names:
                s = ct_stmt if name == "ctypes" else stmt
                if s is None:
                    continue
                missing = [n for n in (needs or "").split("+")
                           if n and n in lacks[name]]
                if missing:
                    row["skipped"][name] = lacks[name][missing[0]]
                    continue
                try:
                    if "=" in s or s.startswith("for "):
                        exec(s, spaces[name])
                        values[name] = None
                    else:
                        values[name] = _check_value(eval(s, spaces[name]))
                except Exception as e:
                    row["errors"][name] = "%s: %s" % (type(e).__name__, e)
                    continue
                cells[name] = _Cell(s, spaces[name], timer)
            if (values.get("rcffi") is not None
                    and values.get("cffi") is not None
                    and values["rcffi"] != values["cffi"]):
                row["errors"]["rcffi"] = "MISMATCH: rcffi %r, cffi %r" % (
                    values["rcffi"], values["cffi"])
            for c in cells.values():
                c.calibrate(target)
            for r in range(rounds):
                order = list(cells.items())
                if r % 2:
                    order.reverse()
                for name, c in order:
                    c.sample()
            for name, c in cells.items():
                ns = median(c.samples) * 1e9 - base[name] * 1e9
                row["ns"][name] = max(ns, 0.1)
                row.setdefault("samples_ns", {})[name] = [
                    x * 1e9 for x in c.samples]
            row["ratio_cffi_over_rcffi"] = ratio(row["ns"].get("cffi"),
                                                 row["ns"].get("rcffi"))
            row["ratio_ctypes_over_rcffi"] = ratio(row["ns"].get("ctypes"),
                                                   row["ns"].get("rcffi"))
            result["ops"].append(row)
            if verbose:
                print("  ops %-34s rcffi %7s  cffi %7s  ctypes %7s"
                      % (op_name, fmt_ns(row["ns"].get("rcffi")),
                         fmt_ns(row["ns"].get("cffi")),
                         fmt_ns(row["ns"].get("ctypes"))), file=sys.stderr)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return result


def print_result(result, out=sys.stdout):
    print("== cdata operations (ns/op, %s time, median of %d rounds, net of "
          "loop overhead; ratio > 1: rcffi faster) =="
          % (result["timer"], result["rounds"]), file=out)
    rows = []
    problems = []
    for r in result["ops"]:
        def cell(name):
            if name in r["ns"]:
                return fmt_ns(r["ns"][name])
            if name in r["errors"]:
                return "ERROR"
            if name in r["skipped"]:
                return "skip"
            return "-"
        rows.append([r["op"], cell("rcffi"), cell("cffi"), cell("ctypes"),
                     fmt_ratio(r["ratio_cffi_over_rcffi"]),
                     fmt_ratio(r["ratio_ctypes_over_rcffi"])])
        for name, e in sorted(r["errors"].items()):
            problems.append("%s, %s: %s" % (r["op"], name,
                                            e.splitlines()[0][:200]))
    print_table(["op", "rcffi", "cffi", "ctypes", "cffi/rcffi",
                 "ctypes/rcffi"], rows, out=out)
    oh = result.get("loop_overhead_ns", {})
    if oh:
        print("  loop overhead subtracted: %s" % ", ".join(
            "%s %.1f ns" % kv for kv in sorted(oh.items())), file=out)
    for k, v in sorted(result["missing"].items()):
        print("  %s not measured: %s" % (k, v), file=out)
    for n in result["notes"]:
        print("  note: %s" % n, file=out)
    for p in problems:
        print("  ERROR %s" % p, file=out)
    slower = [r["op"] for r in result["ops"]
              if r["ratio_cffi_over_rcffi"] is not None
              and r["ratio_cffi_over_rcffi"] < 1]
    if slower:
        print("  rcffi slower than upstream cffi on: %s" % "; ".join(slower),
              file=out)
    print(file=out)


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=None,
                    help="only the ops whose name contains this")
    ap.add_argument("--json", default=None, help="write results here")
    args = ap.parse_args(argv)
    res = run(quick=args.quick, only=args.only)
    print_result(res)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": _common.machine_info(), "ops": res}, f,
                      indent=1)


if __name__ == "__main__":
    main()
