"""Time ``FFI().cdef(text)`` on the header corpora, rcffi vs upstream cffi.

    python bench/bench_cdef.py [--quick] [--sizes 1k,5k,20k] [--json out.json]

Each cell (variant x corpus) runs each implementation's reps in a child
process of its own, the implementations taking turns in which goes first.
In one shared process the two disturbed each other: upstream's cdef of a
header churns through tens of megabytes of Python objects, and whatever runs
next starts with cold caches and a fragmented heap (rcffi's 1k-line cdef
took 30-40% longer right after upstream's than alone), which no real
program, running one cffi, sees.  Each child first makes an untimed cdef of
the largest corpus (pycparser builds its tables on first use; both grow
their heaps to what it needs).  Each rep
appends a unique ``#define`` so that no implementation can answer from a
cache keyed by the text.  Variants:

  cdef               FFI() + cdef(text)
  cdef+use           the same, then ffi.sizeof() of up to 50 struct types
                     and ffi.typeof() of up to 50 typedefs spread over the
                     corpus, so that work deferred by a lazy cdef is paid for
  cdef, gc off       cdef with the garbage collector disabled (5k, 20k)
  cdef in N calls    the 20k corpus cut at declaration boundaries into 20 or
                     100 pieces, fed to one FFI by successive cdef() calls,
                     as packages that build their cdef incrementally do
                     (at most 3 reps, 1 with --quick)

Reported: median CPU time of this thread (``RCFFI_BENCH_TIMER=wall`` for
wall clock), the ratio rcffi/upstream (< 1: rcffi is faster) and its
inverse, the speedup upstream/rcffi.
"""
import gc
import json
import os
import subprocess
import sys
import time
import warnings

import _common
from _common import fmt_ratio, fmt_time, median, print_table, ratio

# reps per corpus size (full run, quick run)
REPS = {"1k": (9, 3), "5k": (7, 3), "20k": (5, 2)}
# a cell stops early (after at least one rep) once it has used this much
BUDGET = (60.0, 12.0)

# variant: (corpus sizes or None for all, cdef() calls, GC on, first use,
#           max reps (full, quick))
VARIANTS = {
    "cdef": (None, 1, True, False, None),
    "cdef+use": (None, 1, True, True, None),
    "cdef, gc off": (("5k", "20k"), 1, False, False, (3, 1)),
    "cdef in 20 calls": (("20k",), 20, True, False, (3, 1)),
    "cdef in 100 calls": (("20k",), 100, True, False, (3, 1)),
}
DEFAULT_VARIANTS = list(VARIANTS)


def split_pieces(text, parts):
    """The text cut into `parts` pieces of about equal length at declaration
    boundaries, as a package that builds its cdef incrementally does."""
    import corpus as corpus_mod
    chunks = [t for _k, t in corpus_mod.split_declarations(text)]
    rest = text[sum(len(c) for c in chunks):]
    size = len(text) / parts
    pieces, cur, acc = [], [], 0
    for c in chunks:
        cur.append(c)
        acc += len(c)
        if acc >= size * (len(pieces) + 1) and len(pieces) < parts - 1:
            pieces.append("".join(cur))
            cur = []
    pieces.append("".join(cur) + rest)
    return pieces


def _one(impl, text, structs, typedefs, timer, pieces=None, gc_on=True):
    FFI = impl.FFI
    gc.collect()
    pieces = pieces or [text]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not gc_on:
            gc.disable()
        try:
            t0 = timer()
            ffi = FFI()
            for piece in pieces:
                ffi.cdef(piece)
        finally:
            if not gc_on:
                gc.enable()
        for s in structs:
            ffi.sizeof(s)
        for t in typedefs:
            ffi.typeof(t)
        t1 = timer()
    del ffi
    return t1 - t0


def run_cell(impl_name, variant, label, reps, rep_base, budget,
             timer_name=None):
    """In a child process: `reps` timed samples of one implementation on one
    cell (stopping early once `budget` seconds are used)."""
    import corpus as corpus_mod
    _name, timer = _common.get_timer(timer_name)
    impl = [i for i in _common.load_impls() if i.name == impl_name][0]
    if impl.module is None:
        raise RuntimeError(impl.error)
    corpora = corpus_mod.get_corpora(verbose=False)
    info = corpora[label]
    _sizes, parts, gc_on, use, _max = VARIANTS[variant]
    structs = info["structs"] if use else []
    typedefs = info["typedefs"] if use else []
    pieces = split_pieces(info["text"], parts) if parts > 1 else None
    # warm-up, untimed: pycparser builds its tables on first use, and both
    # grow their heaps to what the biggest corpus needs
    biggest = max(corpora, key=lambda k: corpora[k]["lines"])
    _one(impl, corpora[biggest]["text"], [], [], timer)
    samples = []
    t_start = time.time()
    for rep in range(reps):
        tag = "#define RCFFI_BENCH_REP_%d %d\n" % (rep_base + rep,
                                                  rep_base + rep)
        text = info["text"] + tag
        ps = pieces[:-1] + [pieces[-1] + tag] if pieces else None
        samples.append(_one(impl, text, structs, typedefs, timer, ps, gc_on))
        if time.time() - t_start > budget:
            break
    return samples


def _run_child(impl_name, variant, label, reps, rep_base, budget, timer_name):
    cmd = [sys.executable, os.path.abspath(__file__), "--child",
           json.dumps([impl_name, variant, label, reps, rep_base, budget,
                       timer_name])]
    p = subprocess.run(cmd, capture_output=True, text=True)
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines:
        err = (p.stderr.strip().splitlines() or ["exit status %d"
                                                 % p.returncode])[-1]
        raise RuntimeError(err[:2000])
    return json.loads(lines[-1])


def run(quick=False, sizes=None, timer_name=None, verbose=True,
        corpora=None, variants=None):
    import corpus as corpus_mod
    timer_name, _timer = _common.get_timer(timer_name)
    impls = [i for i in _common.load_impls()]
    avail = [i for i in impls if i.module is not None]
    if corpora is None:
        corpora = corpus_mod.get_corpora(verbose=verbose)
    sizes = sizes or list(corpus_mod.SIZES)
    if variants is None:
        variants = DEFAULT_VARIANTS
    result = {"timer": timer_name, "quick": quick, "rows": [],
              "errors": {}, "missing": {i.name: i.error for i in impls
                                         if i.module is None}}
    cell_no = 0
    for variant in variants:
        v_sizes, parts, gc_on, use, max_reps = VARIANTS[variant]
        for label in sizes:
            if v_sizes is not None and label not in v_sizes:
                continue
            info = corpora[label]
            structs = info["structs"] if use else []
            typedefs = info["typedefs"] if use else []
            reps = REPS.get(label, (3, 1))[1 if quick else 0]
            if max_reps:
                reps = min(reps, max_reps[1 if quick else 0])
            budget = BUDGET[1 if quick else 0] / max(len(avail), 1)
            samples = {i.name: [] for i in avail}
            cell_no += 1
            order = avail if cell_no % 2 else avail[::-1]
            for impl in order:
                try:
                    samples[impl.name] = _run_child(
                        impl.name, variant, label, reps, 1000 * cell_no,
                        budget, timer_name)
                except Exception as e:
                    msg = "%s: %s" % (type(e).__name__, e)
                    result["errors"]["%s %s %s" % (impl.name, variant,
                                                   label)] = msg[:2000]
                    if verbose:
                        print("!! %s fails on %s (%s): %s"
                              % (impl.name, label, variant, msg[:300]),
                              file=sys.stderr)
            row = {"corpus": label, "lines": info["lines"],
                   "variant": variant, "n_structs": len(structs),
                   "n_typedefs": len(typedefs)}
            for impl in avail:
                s = samples[impl.name]
                row[impl.name] = {"median_s": median(s) if s else None,
                                  "samples_s": s}
            med = {k: (row[k]["median_s"] if k in row else None)
                   for k in ("cffi", "rcffi")}
            row["ratio_cffi_over_rcffi"] = ratio(med["cffi"], med["rcffi"])
            row["s"] = {k: v for k, v in med.items() if v is not None}
            _common.add_ratios(row, key="s")
            result["rows"].append(row)
            if verbose:
                print("  cdef %-8s %-4s cffi %-9s rcffi %-9s ratio %s"
                      % (variant, label, fmt_time(med["cffi"] or float("nan")),
                         fmt_time(med["rcffi"] or float("nan")),
                         fmt_ratio(row["ratio_cffi_over_rcffi"])),
                      file=sys.stderr)
    return result


def print_result(result, out=sys.stdout):
    print("== cdef parse time (%s time, median of reps; rcffi/cffi < 1: "
          "rcffi faster; speedup = cffi/rcffi) ==" % result["timer"],
          file=out)
    rows = []
    for r in result["rows"]:
        def cell(name):
            d = r.get(name)
            if not d or d["median_s"] is None:
                return "n/a"
            return fmt_time(d["median_s"])
        n = max(len((r.get(k) or {}).get("samples_s", []))
                for k in ("cffi", "rcffi"))
        what = r["variant"]
        if r["variant"] == "cdef+use":
            what += " (%d sizeof, %d typeof)" % (r["n_structs"],
                                                r["n_typedefs"])
        rows.append([r["corpus"], str(r["lines"]), what, str(n),
                     cell("rcffi"), cell("cffi"),
                     _common.fmt_q(r.get("rcffi_over_cffi")),
                     _common.fmt_best(r),
                     fmt_ratio(r["ratio_cffi_over_rcffi"])])
    print_table(["corpus", "lines", "variant", "reps", "rcffi", "cffi",
                 "rcffi/cffi", "rcffi/best", "speedup"], rows,
                aligns=list("lrlrrrrrr"), out=out)
    print("  (ctypes has no cdef: the best peer is upstream cffi)", file=out)
    for k, v in sorted(result["missing"].items()):
        print("  %s not measured: %s" % (k, v), file=out)
    for k, v in sorted(result["errors"].items()):
        print("  ERROR %s: %s" % (k, v.splitlines()[0][:300]), file=out)
    print(file=out)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(run_cell(*json.loads(argv[1]))))
        return
    args = _common.parse_args(__doc__, argv, lambda ap: ap.add_argument(
        "--sizes", default=None,
        help="comma-separated corpus labels (1k,5k,20k)"))
    sizes = args.sizes.split(",") if args.sizes else None
    res = run(quick=args.quick, sizes=sizes)
    print_result(res)
    _common.save_json(args.json, "cdef", res)


if __name__ == "__main__":
    main()
