"""Run every rcffi benchmark and print the tables.

    python bench/run_all.py [--quick] [--json out.json]
                            [--sections cdef,ops,import,memory] [--rebuild]

Needs rcffi (``import rcffi``) and upstream cffi (``import cffi``) in the same
environment, plus gcc, setuptools and the system headers (cdef corpus, test
library, out-of-line modules).  The first run generates the corpus and
builds the modules into the cache (about a minute); later runs reuse them.
A full run takes ~3 minutes, --quick about one.  See bench/README.md.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _clib  # noqa: E402
import _common  # noqa: E402
import _modules  # noqa: E402
import bench_cdef  # noqa: E402
import bench_import  # noqa: E402
import bench_memory  # noqa: E402
import bench_ops  # noqa: E402
import corpus  # noqa: E402
from _common import fmt_q  # noqa: E402

SECTIONS = ("cdef", "ops", "import", "memory")

# a ratio within [1/PAR, PAR] counts as "at par" in the summary (noise)
PAR = 1.05


def all_rows(results):
    """(section, label, row) for every row of every section."""
    out = []
    for r in (results.get("cdef") or {}).get("rows", []):
        out.append(("cdef", "%s %s" % (r["variant"], r["corpus"]), r))
    for r in (results.get("ops") or {}).get("rows", []):
        if r["group"] == "reference":       # not an rcffi operation
            continue
        out.append(("ops", "%s [%s]" % (r["op"], r["mode"]), r))
    for r in (results.get("import") or {}).get("rows", []):
        out.append(("import", "%s: %s" % (r["group"], r["op"]), r))
    for r in (results.get("memory") or {}).get("rows", []):
        out.append(("memory", "%s [%s]" % (r["op"], r["mode"]), r))
    return out


def _value(row, name):
    for key in ("ns", "s", "bytes"):
        if key in row and isinstance(row[key], dict):
            return row[key].get(name)
    return None


def summary(results, out=sys.stdout):
    print("== summary (ratios rcffi/peer; > %.2f counts as slower) =="
          % PAR, file=out)
    rows = all_rows(results)
    counts = {}
    slower_cffi, slower_ctypes, errors = [], [], []
    for section, label, r in rows:
        q = r.get("rcffi_over_cffi")
        c = counts.setdefault(section, [0, 0, 0, 0])
        if q is None:
            c[3] += 1
        elif q > PAR:
            c[2] += 1
            slower_cffi.append("%-7s %-52s %s" % (section, label, fmt_q(q)))
        elif q < 1 / PAR:
            c[0] += 1
        else:
            c[1] += 1
        mine, ct = _value(r, "rcffi"), _value(r, "ctypes")
        qc = _common.ratio(mine, ct)
        if qc is not None and qc > PAR:
            slower_ctypes.append("%-7s %-52s %s" % (section, label,
                                                    fmt_q(qc)))
        for name, e in sorted((r.get("errors") or {}).items()):
            if name == "rcffi":
                errors.append("%-7s %-52s %s" % (section, label,
                                                 e.splitlines()[0][:150]))
    for section in SECTIONS:
        if section in counts:
            f, p, s, n = counts[section]
            print("  %-7s rcffi vs upstream cffi: faster on %d, at par on %d,"
                  " slower on %d rows%s" % (section, f, p, s,
                                            ", %d not compared" % n if n
                                            else ""), file=out)
    if slower_cffi:
        print("  rcffi slower than upstream cffi (rcffi/cffi):", file=out)
        for s in slower_cffi:
            print("    " + s, file=out)
    if slower_ctypes:
        print("  rcffi slower than ctypes (rcffi/ctypes):", file=out)
        for s in slower_ctypes:
            print("    " + s, file=out)
    if errors:
        print("  rcffi errors:", file=out)
        for s in errors:
            print("    " + s, file=out)
    for k in ("cdef_skipped", "modules_error"):
        if results.get(k):
            print("  %s: %s" % (k, results[k]), file=out)
    print(file=out)


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="short run (about a minute once the cache is made)")
    ap.add_argument("--json", default=None, metavar="OUT",
                    help="also write all results as JSON")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help="comma-separated subset of: %s" % ", ".join(SECTIONS))
    ap.add_argument("--rebuild", action="store_true",
                    help="rebuild the generated modules")
    ap.add_argument("--quiet", action="store_true",
                    help="no progress lines on stderr")
    args = ap.parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    for s in sections:
        if s not in SECTIONS:
            ap.error("unknown section %r" % s)
    verbose = not args.quiet
    t0 = time.time()
    impls = _common.load_impls()
    info = _common.machine_info()
    print("rcffi benchmarks - %s, %s, %s CPUs, Python %s%s"
          % (info["date"], info.get("cpu", info["platform"]), info["cpus"],
             info["python"], ", quick" if args.quick else ""))
    for impl in impls:
        if impl.module is None:
            print("  %s: NOT AVAILABLE (%s)" % (impl.name, impl.error))
        else:
            print("  %s: %s" % (impl.label, impl.module.__file__))
    print()
    results = {"machine": info, "versions": _common.versions(impls),
               "quick": args.quick, "sections": sections}
    cache = _common.cache_dir()
    corpora = None
    if "cdef" in sections or "import" in sections:
        try:
            corpora = corpus.get_corpora(verbose=verbose)
            results["corpus"] = {k: {kk: vv for kk, vv in v.items()
                                     if kk != "text"}
                                 for k, v in corpora.items()}
        except Exception as e:
            # the corpus is judged by upstream cffi and made with gcc
            results["cdef_skipped"] = "%s: %s" % (type(e).__name__, e)
            print("== no corpus: cdef section and corpus imports skipped "
                  "(%s) ==\n" % results["cdef_skipped"])
    modules = {}
    libbench = None
    if set(sections) & {"ops", "import", "memory"}:
        try:
            libbench = _clib.libbench_path(cache)
            want = ["bench"]
            if "import" in sections and corpora:
                want += ["corpus_abi", "corpus_api"]
            specs = _modules.module_specs(cache, corpora, want=want,
                                          verbose=verbose)
            modules = _modules.ensure_modules(impls, specs, cache,
                                              rebuild=args.rebuild,
                                              verbose=verbose)
            results["modules"] = modules
        except Exception as e:
            results["modules_error"] = "%s: %s" % (type(e).__name__, e)
            print("== cannot build the modules: %s ==\n"
                  % results["modules_error"])
    if "cdef" in sections and corpora is not None:
        res = bench_cdef.run(quick=args.quick, corpora=corpora,
                             verbose=verbose)
        results["cdef"] = res
        bench_cdef.print_result(res)
    if "ops" in sections and libbench:
        res = bench_ops.run(quick=args.quick, verbose=verbose,
                            modules=modules, libbench=libbench, impls=impls)
        results["ops"] = res
        bench_ops.print_result(res)
    if "import" in sections and libbench:
        res = bench_import.run(quick=args.quick, verbose=verbose,
                               modules=modules, corpora=corpora or {},
                               libbench=libbench, impls=impls)
        results["import"] = res
        bench_import.print_result(res)
    if "memory" in sections and libbench:
        res = bench_memory.run(quick=args.quick, verbose=verbose,
                               modules=modules, impls=impls)
        results["memory"] = res
        bench_memory.print_result(res)
    summary(results)
    results["elapsed_s"] = round(time.time() - t0, 1)
    print("total %.0f s" % results["elapsed_s"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print("results written to %s" % args.json)


if __name__ == "__main__":
    main()
