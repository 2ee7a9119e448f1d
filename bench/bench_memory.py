"""Memory per live object: rcffi vs upstream cffi vs ctypes.

    python bench/bench_memory.py [--quick] [--json out.json]

Each measurement is a fresh ``python -c`` process that keeps N objects alive
in a list allocated beforehand (N = 200000; 50000 with --quick) and reports,
divided by N:

  rss      growth of the resident set (``/proc/self/statm``): everything
  malloc   growth of glibc's ``mallinfo2()`` in-use bytes (uordblks +
           hblkhd): what went through malloc (Python's small-object
           allocator takes its arenas with mmap, so they are not in it)
  traced   growth of ``tracemalloc``'s traced memory, in a second process:
           what went through Python's allocators

plus ``sys.getsizeof()`` of one object.  The table shows ``rss`` (median
of 3 processes; 1 with --quick); the JSON has all of them.  rcffi runs after
``rcffi.install_as_cffi()``, as in the other children; the ``api`` rows use
the API module built by each implementation (``_modules.py``).
"""
import ast
import subprocess
import sys

import _common
from _common import median, print_table

CHILD = r"""
import ctypes, gc, os, sys
sys.path.insert(0, %(moddir)r)
MODE, N = %(mode)r, %(n)d
%(boot)s
%(setup)s

class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
        "fsmblks", "uordblks", "fordblks", "keepcost")]
_libc = ctypes.CDLL(None)
_libc.mallinfo2.restype = _MallInfo2

def malloc_in_use():
    m = _libc.mallinfo2()
    return m.uordblks + m.hblkhd

_PAGE = os.sysconf("SC_PAGE_SIZE")

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE

keep = [None] * N
for _ in range(2000):           # type caches, free lists
    make()
gc.collect()
gc.disable()
if MODE == "traced":
    import tracemalloc
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(N):
        keep[i] = make()
    after = tracemalloc.get_traced_memory()[0]
    print(repr({"traced": (after - before) / N}))
else:
    r0, m0 = rss(), malloc_in_use()
    for i in range(N):
        keep[i] = make()
    r1, m1 = rss(), malloc_in_use()
    print(repr({"rss": (r1 - r0) / N, "malloc": (m1 - m0) / N,
                "getsizeof": sys.getsizeof(keep[0])}))
"""

BOOT = {"rcffi": "import rcffi; rcffi.install_as_cffi()\nimport cffi",
        "cffi": "import cffi", "ctypes": ""}

INLINE = 'ffi = cffi.FFI()\nffi.cdef("struct point { int x; int y; };")\n'
API = "from _rb_api import ffi\n"

# (name, mode, setup defining make() for rcffi/cffi, ctypes setup)
KINDS = [
    ('new("int *")', "abi", INLINE + 'make = lambda: ffi.new("int *")',
     "make = ctypes.c_int"),
    ('new("int *")', "api", API + 'make = lambda: ffi.new("int *")',
     "make = ctypes.c_int"),
    ('new("struct point *")', "abi",
     INLINE + 'make = lambda: ffi.new("struct point *")',
     "class P(ctypes.Structure):\n    _fields_ = [('x', ctypes.c_int), "
     "('y', ctypes.c_int)]\nmake = P"),
    ('new("int[1000]")', "abi", INLINE + 'make = lambda: ffi.new("int[1000]")',
     "make = ctypes.c_int * 1000"),
    ('new("int[1000]")', "api", API + 'make = lambda: ffi.new("int[1000]")',
     "make = ctypes.c_int * 1000"),
]


def run_child(impl, moddir, setup, mode, n):
    code = CHILD % {"moddir": moddir, "mode": mode, "n": n,
                    "boot": BOOT[impl], "setup": setup}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True)
    if p.returncode != 0:
        lines = p.stderr.strip().splitlines() or ["exit status %d"
                                                  % p.returncode]
        raise RuntimeError(lines[-1][:500])
    return ast.literal_eval(p.stdout.strip().splitlines()[-1])


def run(quick=False, verbose=True, modules=None, impls=None):
    impls = impls or _common.load_impls()
    names = [i.name for i in impls if i.module is not None] + ["ctypes"]
    n = 50000 if quick else 200000
    reps = 1 if quick else 3
    modules = modules or {}
    result = {"n": n, "reps": reps, "rows": []}
    ctypes_done = {}
    for kind, mode, setup, ct_setup in KINDS:
        row = {"op": kind, "mode": mode, "bytes": {}, "detail": {},
               "errors": {}}
        for name in names:
            if name == "ctypes":
                key = ct_setup
                if key in ctypes_done:
                    row["bytes"]["ctypes"] = ctypes_done[key][0]
                    row["detail"]["ctypes"] = ctypes_done[key][1]
                    continue
                s, moddir = ct_setup, "."
            else:
                s = setup
                moddir = modules.get(name, {}).get("dir", ".")
                if mode == "api":
                    st = modules.get(name, {}).get("status", {}).get(
                        "_rb_api") or {}
                    if not st.get("ok"):
                        row["errors"][name] = "module _rb_api not built"
                        continue
            try:
                d = {}
                rss = []
                for _ in range(reps):
                    got = run_child(name, moddir, s, "rss", n)
                    rss.append(got["rss"])
                    d.update(got)
                d["rss"] = median(rss)
                d["rss_samples"] = rss
                d.update(run_child(name, moddir, s, "traced", n))
            except Exception as e:
                row["errors"][name] = "%s: %s" % (type(e).__name__, e)
                continue
            row["bytes"][name] = d["rss"]
            row["detail"][name] = d
            if name == "ctypes":
                ctypes_done[key] = (d["rss"], d)
        _common.add_ratios(row, key="bytes")
        result["rows"].append(row)
        if verbose:
            print("  memory %-24s %-4s %s" % (kind, mode, "  ".join(
                "%s %.1f" % kv for kv in row["bytes"].items())),
                file=sys.stderr)
    return result


def _b(v):
    return "%.1f" % v if v < 100 else "%.0f" % v


def print_result(result, out=sys.stdout):
    print("== memory per live object (bytes, RSS growth / %d objects, "
          "median of %d; ratios < 1: rcffi smaller) =="
          % (result["n"], result["reps"]), file=out)
    rows = []
    problems = []
    for r in result["rows"]:
        rows.append([r["op"], r["mode"]] +
                    [_common.cell(r, n, _b, key="bytes")
                     for n in ("rcffi", "cffi", "ctypes")] +
                    [_common.fmt_q(r["rcffi_over_cffi"]),
                     _common.fmt_best(r)])
        for n, e in sorted(r["errors"].items()):
            problems.append("%s [%s], %s: %s" % (r["op"], r["mode"], n, e))
    print_table(["object", "mode", "rcffi", "cffi", "ctypes", "rcffi/cffi",
                 "rcffi/best"], rows, aligns=list("llrrrrr"), out=out)
    print("  detail (malloc / traced / getsizeof, bytes per object):",
          file=out)
    for r in result["rows"]:
        print("    %-22s %-4s %s" % (r["op"], r["mode"], "   ".join(
            "%s %s / %s / %d" % (n, _b(d["malloc"]), _b(d["traced"]),
                                 d["getsizeof"])
            for n, d in r["detail"].items())), file=out)
    for p in problems:
        print("  ERROR %s" % p, file=out)
    print(file=out)


def main(argv=None):
    import _modules
    args = _common.parse_args(__doc__, argv)
    impls = _common.load_impls()
    cache = _common.cache_dir()
    specs = _modules.module_specs(cache, want=("bench",))
    modules = _modules.ensure_modules(impls, specs, cache, verbose=True)
    res = run(quick=args.quick, modules=modules, impls=impls)
    print_result(res)
    _common.save_json(args.json, "memory", res)


if __name__ == "__main__":
    main()
