"""Child processes of the benchmarks: one implementation per process.

Out-of-line ABI and API modules import ``_cffi_backend``.  So that rcffi's
modules run on rcffi and upstream's on upstream, each implementation gets its
own interpreter, started with ``--impl``:

  rcffi   ``rcffi.install_as_cffi()`` runs first, before anything imports
          cffi: afterwards ``import cffi`` and ``import _cffi_backend`` are
          rcffi's;
  cffi    upstream cffi 2.0.0 as installed (refused if it is rcffi);
  ctypes  no cffi at all.

Subcommands (the parent, ``_modules.py`` / ``bench_ops.py``, drives them):

  build --impl I --spec FILE    build the modules listed in FILE (JSON) with
                                I's own generator (FFI.set_source/compile)
  serve --impl I --config FILE  a timing server: reads one JSON request per
                                line on stdin, answers one JSON line on stdout

Nothing here decides what is measured; see bench_ops.py.
"""
import json
import os
import sys
import time
import timeit
import traceback
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))


def boot(impl):
    """Make `import cffi` give the implementation under test; return the
    cffi module (None for ctypes)."""
    if impl == "rcffi":
        import rcffi
        rcffi.install_as_cffi()
        import cffi
        if not getattr(cffi, "__rcffi__", False):
            raise RuntimeError("install_as_cffi() did not take")
        return cffi
    if impl == "cffi":
        import cffi
        if getattr(cffi, "__rcffi__", False) or \
                "rcffi" in (getattr(cffi, "__file__", "") or ""):
            raise RuntimeError("'import cffi' gives rcffi here; upstream "
                               "cffi is needed")
        return cffi
    if impl == "ctypes":
        return None
    raise ValueError(impl)


# ------------------------------------------------------------------ build

def build(impl, spec_path):
    """Build every module of the spec that has no status file yet; write
    <dir>/<name>.status.json for each (ok or the error)."""
    cffi = boot(impl)
    with open(spec_path) as f:
        spec = json.load(f)
    outdir = spec["dir"]
    os.makedirs(outdir, exist_ok=True)
    warnings.simplefilter("ignore")
    for mod in spec["modules"]:
        name = mod["name"]
        status_path = os.path.join(outdir, name + ".status.json")
        if os.path.exists(status_path):
            continue
        t0 = time.time()
        status = {"name": name, "impl": impl, "key": mod.get("key")}
        try:
            with open(mod["cdef_file"]) as f:
                cdef = f.read()
            ffi = cffi.FFI()
            ffi.cdef(cdef)
            if mod["kind"] == "abi":
                ffi.set_source(name, None)
            else:
                ffi.set_source(name, mod["c_source"],
                               libraries=mod.get("libraries", []),
                               include_dirs=mod.get("include_dirs", []),
                               extra_compile_args=mod.get("cflags", []))
            tmp = os.path.join(outdir, "tmp-" + name)
            # compile() writes <name>.c/.o (API) or <name>.py (ABI) into tmp
            out = ffi.compile(tmpdir=tmp, verbose=False)
            final = os.path.join(outdir, os.path.basename(out))
            os.replace(out, final)
            status.update(ok=True, file=final)
        except BaseException as e:
            status.update(ok=False, error="%s: %s" % (type(e).__name__, e),
                          traceback=traceback.format_exc()[-3000:])
        status["seconds"] = round(time.time() - t0, 2)
        _rmtree(os.path.join(outdir, "tmp-" + name))
        with open(status_path + ".tmp", "w") as f:
            json.dump(status, f, indent=1)
        os.replace(status_path + ".tmp", status_path)
        print("[build] %s %s: %s (%.1fs)"
              % (impl, name, "ok" if status["ok"] else status["error"][:200],
                 status["seconds"]), file=sys.stderr, flush=True)


def _rmtree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------ serve

def _comparable(v):
    """The value of a statement in a form two processes can compare."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float, str)):
        return v
    if isinstance(v, bytes):
        return "bytes:" + v.hex()
    if isinstance(v, list) and all(isinstance(x, int) for x in v):
        return v
    return None


class Cell(object):
    def __init__(self, stmt, ns, timer, divisor):
        self.stmt = stmt
        self.ns = ns
        self.divisor = divisor
        self.timer = timeit.Timer(stmt, globals=ns, timer=timer)
        self.number = None

    def check(self):
        try:
            code = compile(self.stmt, "<bench>", "eval")
        except SyntaxError:
            exec(self.stmt, self.ns)
            return None
        return _comparable(eval(code, self.ns))

    def calibrate(self, target):
        n = 1
        while True:
            dt = self.timer.timeit(n)
            if dt >= target / 5 or n >= 10 ** 8:
                break
            n *= 10 if dt < target / 50 else 2
        self.number = max(1, int(n * target / max(dt, 1e-9)))
        return self.number

    def sample(self):
        # seconds per operation (timeit turns the GC off during a sample)
        return self.timer.timeit(self.number) / self.number / self.divisor


def serve(impl, config_path):
    with open(config_path) as f:
        config = json.load(f)
    timer = {"cpu": time.thread_time, "wall": time.perf_counter}[
        config["timer"]]
    out = sys.stdout
    # nothing but our answers may go to stdout
    sys.stdout = sys.stderr
    spaces = {}
    setup_errors = {}
    try:
        cffi = boot(impl)
        sys.path.insert(0, config["moddir"])
        import bench_ops
        spaces, setup_errors = bench_ops.make_spaces(impl, cffi, config)
        hello = {"ok": True, "modes": sorted(spaces),
                 "setup_errors": setup_errors,
                 "version": getattr(cffi, "__version__", None),
                 "file": getattr(cffi, "__file__", None)}
    except BaseException as e:
        hello = {"ok": False, "error": "%s: %s" % (type(e).__name__, e),
                 "traceback": traceback.format_exc()[-3000:]}
    out.write(json.dumps(hello) + "\n")
    out.flush()
    cells = {}
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        if op == "quit":
            break
        if op == "setup":
            # {"op": "setup", "id", "mode", "stmt", "divisor", "target"}
            mode = req["mode"]
            try:
                if mode not in spaces:
                    raise RuntimeError(setup_errors.get(
                        mode, "mode %r not available" % mode))
                c = Cell(req["stmt"], spaces[mode], timer,
                         req.get("divisor", 1))
                value = c.check()
                number = c.calibrate(req["target"])
                cells[req["id"]] = c
                ans = {"ok": True, "value": value, "number": number}
            except BaseException as e:
                ans = {"ok": False,
                       "error": "%s: %s" % (type(e).__name__, e)}
        elif op == "sample":
            ans = {"ok": True, "s": cells[req["id"]].sample()}
        elif op == "drop":
            cells.pop(req["id"], None)
            ans = {"ok": True}
        else:
            ans = {"ok": False, "error": "unknown op %r" % (op,)}
        out.write(json.dumps(ans) + "\n")
        out.flush()


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["build", "serve"])
    ap.add_argument("--impl", required=True,
                    choices=["rcffi", "cffi", "ctypes"])
    ap.add_argument("--spec")
    ap.add_argument("--config")
    args = ap.parse_args(argv)
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    if args.command == "build":
        build(args.impl, args.spec)
    else:
        serve(args.impl, args.config)


if __name__ == "__main__":
    main()
