"""Run every rcffi benchmark and print the tables.

    python bench/run_all.py [--quick] [--json out.json] [--sections cdef,ops]

Needs rcffi (``import rcffi``) and upstream cffi (``import cffi``) in the same
environment, plus gcc and the system headers for the cdef corpus.  --quick
takes well under a minute once the corpus is cached (the first run generates
it, ~15 s more); a full run takes 1-2 minutes.  See bench/README.md.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common  # noqa: E402
import bench_cdef  # noqa: E402
import bench_ops  # noqa: E402
import corpus  # noqa: E402
from _common import fmt_ratio  # noqa: E402

SECTIONS = ("cdef", "ops")


def summary(results, out=sys.stdout):
    print("== summary ==", file=out)
    cdef = results.get("cdef")
    if cdef:
        for r in cdef["rows"]:
            if r["corpus"] == "20k":
                print("  cdef %-9s 20k-line corpus: upstream/rcffi = %s"
                      % (r["variant"], fmt_ratio(r["ratio_cffi_over_rcffi"])),
                      file=out)
        if cdef["errors"]:
            print("  cdef errors: %s" % ", ".join(sorted(cdef["errors"])),
                  file=out)
    ops = results.get("ops")
    if ops:
        slower = ["%s [%s] (%s)" % (r["op"], r["mode"],
                                    _common.fmt_q(r["rcffi_over_cffi"]))
                  for r in ops["rows"]
                  if r["rcffi_over_cffi"] is not None
                  and r["rcffi_over_cffi"] > 1]
        print("  ops: rcffi slower than upstream cffi on %d of %d rows"
              % (len(slower), len(ops["rows"])), file=out)
        for s in slower:
            print("    slower: %s" % s, file=out)
    print(file=out)


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="short run (< 1 minute with a cached corpus)")
    ap.add_argument("--json", default=None, metavar="OUT",
                    help="also write all results as JSON")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help="comma-separated subset of: %s" % ", ".join(SECTIONS))
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
               "quick": args.quick}
    if "cdef" in sections:
        try:
            corpora = corpus.get_corpora(verbose=verbose)
        except Exception as e:
            # the corpus is judged by upstream cffi and made with gcc
            corpora = None
            results["cdef_skipped"] = "%s: %s" % (type(e).__name__, e)
            print("== cdef section skipped: cannot make the corpus (%s) ==\n"
                  % results["cdef_skipped"])
        if corpora is not None:
            results["corpus"] = {k: {kk: vv for kk, vv in v.items()
                                     if kk != "text"}
                                 for k, v in corpora.items()}
            res = bench_cdef.run(quick=args.quick, corpora=corpora,
                                 verbose=verbose)
            results["cdef"] = res
            bench_cdef.print_result(res)
    if "ops" in sections:
        res = bench_ops.run(quick=args.quick, verbose=verbose)
        results["ops"] = res
        bench_ops.print_result(res)
    summary(results)
    results["elapsed_s"] = round(time.time() - t0, 1)
    print("total %.0f s" % results["elapsed_s"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print("results written to %s" % args.json)


if __name__ == "__main__":
    main()
