"""ns per operation: calls in the three cffi modes, allocation, cdata access,
conversions, handles, callbacks; rcffi vs upstream cffi vs ctypes.

    python bench/bench_ops.py [--quick] [--only SUBSTR] [--json out.json]

Each implementation runs in its own child process (``_worker.py serve``):
rcffi's after ``rcffi.install_as_cffi()``, so that the out-of-line modules,
which import ``_cffi_backend``, run on rcffi; upstream's with upstream cffi;
ctypes alone.  The modules are built by each implementation's own generator
(``_modules.py``).  Modes, each with the same cdef (``_clib.py``):

  abi   in-line ABI: ``FFI()``, ``cdef``, ``dlopen`` of the C library
  ool   out-of-line ABI: ``from _rb_abi import ffi``, ``ffi.dlopen``
  api   API: ``from _rb_api import ffi, lib`` (the C code compiled in)

Each operation is one statement in a ``timeit`` loop (GC off during a
sample), the same text for rcffi and upstream cffi, the nearest ctypes
statement in the ctypes process.  The loop count is calibrated once per cell
so that a sample lasts ~10 ms (4 ms with --quick).  Then N rounds (15; 5
with --quick): in each round every row takes one sample of each of its
cells, the implementations alternating in order; the children take turns,
only one runs at a time.  Reported: the median in ns per operation (thread
CPU time; ``RCFFI_BENCH_TIMER=wall`` for wall clock), minus the cost of an
empty loop iteration in the same process and mode.

Ratios: rcffi/cffi (same mode) and rcffi/best, best being the faster of
upstream cffi (same mode) and ctypes; < 1 means rcffi is faster.
"""
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time

import _common
from _common import median, print_table

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "_worker.py")

MODES = ("abi", "ool", "api")
ALL = MODES
ABI = ("abi",)

TEXT = b"hello world, " * 3          # 39 bytes + NUL
N_CB = 1000                          # callbacks per call_n()

# (group, name, statement for rcffi and cffi or None, ctypes statement or None,
#  modes, divisor)
OPS = [
    # ---- reference: the same Python call everywhere (the ratio shows the
    # noise between processes), ctypes' default conversions
    ("reference", "Python def pyadd(1, 2)", "pyadd(1, 2)", "pyadd(1, 2)",
     ABI, 1),
    ("reference", "ctypes add(1, 2), no argtypes", None, "cl_plain.add(1, 2)",
     ABI, 1),
    # nop() without releasing the GIL (PyDLL): beside ctypes' nop() row, what
    # the GIL release and retake alone cost, which every implementation pays
    ("reference", "ctypes nop() keeping the GIL (PyDLL)", None,
     "cl_gil.nop()", ABI, 1),
    # ---- calls
    ("calls", "add(1, 2) as lib.add(1, 2)", "lib.add(1, 2)", "cl.add(1, 2)",
     ALL, 1),
    ("calls", "add(1, 2) prebound", "add(1, 2)", "add(1, 2)", ALL, 1),
    ("calls", "mix6(6 mixed args) -> double",
     "lib.mix6(1, 2, 3.5, ip, 4, cp)", "cl.mix6(1, 2, 3.5, ip, 4, cp)",
     ALL, 1),
    ("calls", "half(2.0) -> double", "lib.half(2.0)", "cl.half(2.0)", ALL, 1),
    ("calls", "nop(), void f(void)", "lib.nop()", "cl.nop()", ALL, 1),
    ("calls", "strlen(bytes)", "libc.strlen(TEXT)", "libc.strlen(TEXT)",
     ALL, 1),
    ("calls", "lib.add lookup alone", "lib.add", "cl.add", ALL, 1),
    ("calls", "apply(cb, 1, 2): C calls Python", "lib.apply(cb2, 1, 2)",
     "cl.apply(ct_cb2, 1, 2)", ALL, 1),
    # ---- callbacks
    ("callbacks", "ffi.callback(\"int(int)\", f)",
     'ffi.callback("int(int)", ident)', "CB(ident)", ABI, 1),
    ("callbacks", "per callback, ffi.callback, C loop",
     "lib.call_n(cb, N)", "cl.call_n(ct_cb, N)", ALL, N_CB),
    ("callbacks", "per callback, extern \"Python\", C loop",
     "lib.call_n(ext, N)", "cl.call_n(ct_cb, N)", ("api",), N_CB),
    # ---- allocation
    ("new", "new(\"int *\")", 'ffi.new("int *")', "c_int()", ALL, 1),
    ("new", "new(\"int[100]\")", 'ffi.new("int[100]")', "IntArr100()", ALL,
     1),
    ("new", "new(\"struct point *\", [1, 2])",
     'ffi.new("struct point *", [1, 2])', "Point(1, 2)", ALL, 1),
    ("new", "new(\"char[]\", 1000 bytes)", 'ffi.new("char[]", X1000)',
     "create_string_buffer(X1000)", ALL, 1),
    ("new", "new(ctype int *)", "ffi.new(t_intp)", "c_int()", ALL, 1),
    # ---- access
    ("access", "p[0] read (int *)", "p[0]", "pp[0]", ABI, 1),
    ("access", "p[0] = 5 (int *)", "p[0] = 5", "pp[0] = 5", ABI, 1),
    ("access", "arr[50] read (int[100])", "arr[50]", "ct_arr[50]", ABI, 1),
    ("access", "arr[50] = 7 (int[100])", "arr[50] = 7", "ct_arr[50] = 7",
     ABI, 1),
    ("access", "s.x read (struct point *)", "s.x", "ct_s.x", ABI, 1),
    ("access", "s.x = 5 (struct point *)", "s.x = 5", "ct_s.x = 5", ABI, 1),
    ("access", "sum(int[1000]), whole sum", "sum(arr1000)",
     "sum(ct_arr1000)", ABI, 1),
    ("access", "iterate int[100], whole loop", "for _x in arr: pass",
     "for _x in ct_arr: pass", ABI, 1),
    ("access", "unpack(int[100], 100)", "ffi.unpack(arr, 100)", "ct_arr[:]",
     ABI, 1),
    # ---- conversions
    ("convert", "cast(\"int\", 42)", 'ffi.cast("int", 42)', "c_int(42)", ABI,
     1),
    ("convert", "cast(\"int *\", p)", 'ffi.cast("int *", p)',
     "cast(pp, P_int)", ABI, 1),
    ("convert", "cast(\"void *\", addr)", 'ffi.cast("void *", addr)',
     "c_void_p(addr)", ABI, 1),
    ("convert", "typeof(\"struct point *\")", 'ffi.typeof("struct point *")',
     None, ABI, 1),
    ("convert", "sizeof(\"struct point\")", 'ffi.sizeof("struct point")',
     "sizeof(Point)", ABI, 1),
    ("convert", "sizeof(cdata int[100])", "ffi.sizeof(arr)",
     "sizeof(ct_arr)", ABI, 1),
    ("convert", "string(char[40])", "ffi.string(carr)", "ct_carr.value",
     ABI, 1),
    ("convert", "buffer(char[4096])[:]", "ffi.buffer(buf4k)[:]",
     "ct_buf4k.raw", ABI, 1),
    ("convert", "from_buffer(bytearray(4096))", "ffi.from_buffer(ba)",
     "CharArr4096.from_buffer(ba)", ABI, 1),
    ("convert", "from_buffer(bytearray(4096)) incl. alloc",
     "ffi.from_buffer(bytearray(4096))",
     "CharArr4096.from_buffer(bytearray(4096))", ABI, 1),
    ("convert", "new_handle(obj)", "ffi.new_handle(obj)", None, ABI, 1),
    ("convert", "from_handle(h)", "ffi.from_handle(h)", None, ABI, 1),
]

MODULES = {"ool": "_rb_abi", "api": "_rb_api"}
MODE_LABELS = {"abi": "abi", "ool": "ool-abi", "api": "api", "ctypes": "-"}


# ------------------------------------------------ namespaces (in the child)

def pyadd(a, b):
    return a + b


def ident(x):
    return x


def _data(ffi, ns):
    obj = object()
    arr = ffi.new("int[100]", list(range(100)))
    ns.update({
        "ffi": ffi, "TEXT": TEXT, "X1000": b"x" * 1000, "N": N_CB,
        "obj": obj, "pyadd": pyadd, "ident": ident,
        "p": ffi.new("int *", 3),
        "s": ffi.new("struct point *", [1, 2]),
        "arr": arr,
        "arr1000": ffi.new("int[1000]", list(range(1000))),
        "carr": ffi.new("char[]", TEXT),
        "buf4k": ffi.new("char[4096]"),
        "ba": bytearray(4096),
        "ip": ffi.new("int *", 7),
        "cp": ffi.new("char[]", b"hello"),
        "t_intp": ffi.typeof("int *"),
        "addr": int(ffi.cast("intptr_t", arr)),
        "h": ffi.new_handle(obj),
        "cb": ffi.callback("int(int)", ident),
        "cb2": ffi.callback("int(int, int)", pyadd),
    })
    ns["add"] = ns["lib"].add
    return ns


def _space_ctypes(libbench):
    c = ctypes

    class Point(c.Structure):
        _fields_ = [("x", c.c_int), ("y", c.c_int)]
    CB = c.CFUNCTYPE(c.c_int, c.c_int)
    CB2 = c.CFUNCTYPE(c.c_int, c.c_int, c.c_int)
    cl = c.CDLL(libbench)
    cl.add.argtypes = [c.c_int, c.c_int]
    cl.add.restype = c.c_int
    cl.mix6.argtypes = [c.c_int, c.c_long, c.c_double, c.POINTER(c.c_int),
                        c.c_ushort, c.c_char_p]
    cl.mix6.restype = c.c_double
    cl.half.argtypes = [c.c_double]
    cl.half.restype = c.c_double
    cl.nop.argtypes = []
    cl.nop.restype = None
    cl.call_n.argtypes = [CB, c.c_int]
    cl.call_n.restype = c.c_int
    cl.apply.argtypes = [CB2, c.c_int, c.c_int]
    cl.apply.restype = c.c_int
    libc = c.CDLL(None)
    libc.strlen.argtypes = [c.c_char_p]
    libc.strlen.restype = c.c_size_t
    IntArr100 = c.c_int * 100
    ns = {
        "cl": cl, "libc": libc, "add": cl.add, "TEXT": TEXT,
        "X1000": b"x" * 1000, "N": N_CB, "ident": ident, "pyadd": pyadd,
        "CB": CB, "ct_cb": CB(ident), "ct_cb2": CB2(pyadd),
        "c_int": c.c_int, "c_void_p": c.c_void_p, "sizeof": c.sizeof,
        "cast": c.cast, "P_int": c.POINTER(c.c_int), "Point": Point,
        "IntArr100": IntArr100, "CharArr4096": c.c_char * 4096,
        "create_string_buffer": c.create_string_buffer,
        "ip": c.pointer(c.c_int(7)), "cp": c.create_string_buffer(b"hello"),
        "pp": c.pointer(c.c_int(3)), "ct_s": Point(1, 2),
        "ct_arr": IntArr100(*range(100)),
        "ct_arr1000": (c.c_int * 1000)(*range(1000)),
        "ct_carr": c.create_string_buffer(TEXT),
        "ct_buf4k": c.create_string_buffer(4096),
        "ba": bytearray(4096),
    }
    ns["addr"] = c.addressof(ns["ct_arr"])
    ns["cl_plain"] = c.CDLL(libbench)      # no argtypes / restype
    ns["cl_gil"] = c.PyDLL(libbench)       # calls keep the GIL
    ns["cl_gil"].nop.argtypes = []
    ns["cl_gil"].nop.restype = None
    return ns


def make_spaces(impl, cffi, config):
    """In the child: {mode: namespace}, {mode: why it is missing}."""
    if impl == "ctypes":
        return {"ctypes": _space_ctypes(config["libbench"])}, {}
    spaces, errors = {}, {}
    status = config.get("modules", {})
    for mode in MODES:
        try:
            if mode == "abi":
                ffi = cffi.FFI()
                import _clib
                ffi.cdef(_clib.CDEF)
                ns = {"lib": ffi.dlopen(config["libbench"]),
                      "libc": ffi.dlopen(None)}
            else:
                name = MODULES[mode]
                st = status.get(name) or {}
                if not st.get("ok"):
                    raise RuntimeError("module %s not built: %s"
                                       % (name, st.get("error", "?")))
                import importlib
                m = importlib.import_module(name)
                ffi = m.ffi
                if mode == "ool":
                    ns = {"lib": ffi.dlopen(config["libbench"]),
                          "libc": ffi.dlopen(None)}
                else:
                    ns = {"lib": m.lib, "libc": m.lib}

                    @ffi.def_extern()
                    def py_cb(x):
                        return x
                    ns["ext"] = m.lib.py_cb
            spaces[mode] = _data(ffi, ns)
        except Exception as e:
            errors[mode] = "%s: %s" % (type(e).__name__, e)
    return spaces, errors


# ------------------------------------------------ the parent side

class Worker(object):
    def __init__(self, impl, config):
        self.impl = impl
        fd, self.config_path = tempfile.mkstemp(prefix="rcffi-bench-",
                                                suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(config, f)
        self.errlog = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen(
            [sys.executable, WORKER, "serve", "--impl", impl, "--config",
             self.config_path], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.errlog, text=True, bufsize=1)
        self.hello = self._read()

    def _read(self):
        line = self.p.stdout.readline()
        if not line:
            self.errlog.seek(0)
            raise RuntimeError("worker %s died: %s"
                               % (self.impl, self.errlog.read()[-2000:]))
        return json.loads(line)

    def ask(self, **req):
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        return self._read()

    def close(self):
        try:
            if self.p.poll() is None:
                self.p.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.p.stdin.close()
                self.p.wait(timeout=10)
        except Exception:
            self.p.kill()
        try:
            os.remove(self.config_path)
        except OSError:
            pass


def run(quick=False, only=None, timer_name=None, verbose=True,
        modules=None, libbench=None, impls=None, rounds=None):
    """modules: {impl: {"dir", "status"}} from _modules.ensure_modules
    (built here if None)."""
    import _modules
    timer_name, _timer = _common.get_timer(timer_name)
    target = 0.004 if quick else 0.010
    rounds = rounds or (5 if quick else 15)
    impls = impls or _common.load_impls()
    cache = _common.cache_dir()
    libbench = libbench or _clib_path(cache)
    if modules is None:
        specs = _modules.module_specs(cache, want=("bench",))
        modules = _modules.ensure_modules(impls, specs, cache,
                                          verbose=verbose)
    result = {"timer": timer_name, "quick": quick, "rounds": rounds,
              "sample_target_s": target, "rows": [], "notes": [],
              "missing": {i.name: i.error for i in impls
                          if i.module is None}, "workers": {}}
    names = [i.name for i in impls if i.module is not None] + ["ctypes"]
    workers = {}
    try:
        for name in names:
            m = modules.get(name, {})
            config = {"timer": timer_name, "libbench": libbench,
                      "moddir": m.get("dir", HERE),
                      "modules": m.get("status", {})}
            w = Worker(name, config)
            if not w.hello.get("ok"):
                result["missing"][name] = w.hello.get("error")
                w.close()
                continue
            workers[name] = w
            result["workers"][name] = {k: w.hello.get(k) for k in
                                       ("version", "file", "setup_errors")}
            for mode, err in sorted(w.hello["setup_errors"].items()):
                result["notes"].append("%s: mode %s unavailable: %s"
                                       % (name, mode, err))
        # loop overhead per (process, mode)
        base = {}
        cid = [0]

        def setup(name, mode, stmt, divisor=1):
            cid[0] += 1
            ans = workers[name].ask(op="setup", id=cid[0], mode=mode,
                                    stmt=stmt, divisor=divisor,
                                    target=target)
            return (cid[0], ans)

        for name, w in workers.items():
            modes = ["ctypes"] if name == "ctypes" else list(MODES)
            for mode in modes:
                i, ans = setup(name, mode, "pass")
                if not ans["ok"]:
                    continue
                xs = [w.ask(op="sample", id=i)["s"]
                      for _ in range(max(3, rounds // 3))]
                base[(name, mode)] = median(xs)
                w.ask(op="drop", id=i)
        result["loop_overhead_ns"] = {"%s/%s" % k: v * 1e9
                                      for k, v in base.items()}
        # the cells
        rows = []
        ctypes_cells = {}
        for group, op, stmt, ct_stmt, modes, div in OPS:
            for mode in modes:
                label = "%s [%s]" % (op, mode)
                if only and only.lower() not in label.lower():
                    continue
                row = {"group": group, "op": op, "mode": mode, "stmt": stmt,
                       "ctypes_stmt": ct_stmt, "ns": {}, "errors": {},
                       "values": {}, "_cells": []}
                for name in workers:
                    if name == "ctypes":
                        if ct_stmt is None:
                            continue
                        key = (ct_stmt, div)
                        if key not in ctypes_cells:
                            ctypes_cells[key] = setup("ctypes", "ctypes",
                                                      ct_stmt, div)
                        i, ans = ctypes_cells[key]
                        cm = "ctypes"
                    elif stmt is None:
                        continue
                    elif mode not in workers[name].hello["modes"]:
                        # the mode's module is missing (noted once)
                        row.setdefault("unavailable", []).append(name)
                        continue
                    else:
                        i, ans = setup(name, mode, stmt, div)
                        cm = mode
                    if ans["ok"]:
                        row["values"][name] = ans["value"]
                        row["_cells"].append((name, cm, i))
                    else:
                        row["errors"][name] = ans["error"]
                v = row["values"]
                if (v.get("rcffi") is not None and v.get("cffi") is not None
                        and v["rcffi"] != v["cffi"]):
                    row["errors"]["rcffi"] = "MISMATCH: rcffi %r, cffi %r" % (
                        v["rcffi"], v["cffi"])
                rows.append(row)
        # sampling, round-robin; a ctypes cell shared by several rows is
        # sampled once per round
        samples = {}
        t0 = time.time()
        for r in range(rounds):
            seen = set()
            for row in rows:
                cells = list(row["_cells"])
                if r % 2:
                    cells.reverse()
                for name, cm, i in cells:
                    if (name, i) in seen:
                        continue
                    seen.add((name, i))
                    s = workers[name].ask(op="sample", id=i)["s"]
                    samples.setdefault((name, i), []).append(s)
            if verbose:
                print("  ops round %d/%d (%.0fs)" % (r + 1, rounds,
                                                     time.time() - t0),
                      file=sys.stderr)
        for row in rows:
            for name, cm, i in row.pop("_cells"):
                xs = samples[(name, i)]
                ns = (median(xs) - base.get((name, cm), 0.0)) * 1e9
                row["ns"][name] = max(ns, 0.1)
                row.setdefault("samples_ns", {})[name] = [x * 1e9 for x in xs]
            _common.add_ratios(row)
            result["rows"].append(row)
    finally:
        for w in workers.values():
            w.close()
    return result


def _clib_path(cache):
    import _clib
    return _clib.libbench_path(cache)


def print_result(result, out=sys.stdout):
    print("== operations (ns/op, %s time, median of %d rounds, net of loop "
          "overhead; ratios < 1: rcffi faster) ==" % (result["timer"],
                                                      result["rounds"]),
          file=out)
    print("   modes: abi = in-line ABI (cdef + dlopen), ool-abi = "
          "out-of-line ABI module, api = API module; ctypes with argtypes",
          file=out)
    rows = []
    problems = []
    last_group = None
    for r in result["rows"]:
        if last_group is not None and r["group"] != last_group:
            rows.append(None)
        last_group = r["group"]
        rows.append([r["op"], MODE_LABELS[r["mode"]]] +
                    [_common.cell(r, n) for n in ("rcffi", "cffi", "ctypes")]
                    + [_common.fmt_q(r["rcffi_over_cffi"]),
                       _common.fmt_best(r)])
        for name, e in sorted(r["errors"].items()):
            problems.append("%s [%s], %s: %s" % (r["op"], r["mode"], name,
                                                 e.splitlines()[0][:200]))
    print_table(["op", "mode", "rcffi", "cffi", "ctypes", "rcffi/cffi",
                 "rcffi/best"], rows, aligns=list("llrrrrr"), out=out)
    oh = result.get("loop_overhead_ns", {})
    if oh:
        vals = sorted(oh.values())
        print("  loop overhead subtracted: %.1f-%.1f ns" % (vals[0], vals[-1]),
              file=out)
    for k, v in sorted(result["missing"].items()):
        print("  %s not measured: %s" % (k, v), file=out)
    for n in result["notes"]:
        print("  note: %s" % n, file=out)
    for p in problems:
        print("  ERROR %s" % p, file=out)
    print(file=out)


def main(argv=None):
    args = _common.parse_args(__doc__, argv, lambda ap: ap.add_argument(
        "--only", default=None,
        help="only the rows whose 'op [mode]' contains this"))
    res = run(quick=args.quick, only=args.only)
    print_result(res)
    _common.save_json(args.json, "ops", res)


if __name__ == "__main__":
    main()
