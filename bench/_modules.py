"""The out-of-line modules of the benchmarks, each built by its own
implementation.

For rcffi and for upstream cffi, in a child process of that implementation
(``_worker.py build``), ``FFI.set_source()`` + ``compile()`` make:

  _rb_abi           out-of-line ABI module of the call library's cdef
                    (``set_source(name, None)``, loaded with ``ffi.dlopen``)
  _rb_api           API module of the same cdef plus ``extern "Python"``, the
                    library's C source compiled in
  _rb_c{1k,5k,20k}_abi   out-of-line ABI modules of the cdef corpora
  _rb_c{1k,5k}_api       API modules of the corpora, compiled against the
                    system headers they come from (see api_corpus())

into ``<cache>/modules/<impl>-<key>/``, where the key hashes the
implementation's files and the Python version: a new rcffi build gets new
modules, an unchanged one reuses them.  Each module has a
``<name>.status.json`` (ok, or the error of its build, and a hash of its
cdef and C source: a changed source is rebuilt); a failed build is not
retried until something changes (``--rebuild`` forces it).
"""
import ctypes
import ctypes.util
import hashlib
import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import time

import _clib
import corpus as corpus_mod

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "_worker.py")

CORPUS_ABI = ("1k", "5k", "20k")
CORPUS_API = ("1k", "5k")      # 20k: ~8 minutes of gcc, left out


def log(verbose, *args):
    if verbose:
        print("[modules]", *args, file=sys.stderr, flush=True)


def _hash_tree(h, top):
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for fn in sorted(files):
            if fn.endswith((".pyc", ".pyo")):
                continue
            p = os.path.join(root, fn)
            h.update(os.path.relpath(p, top).encode())
            with open(p, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())


def impl_key(impl):
    """A hash of the files of the implementation (its generator and its
    runtime)."""
    h = hashlib.sha256(impl.name.encode())
    mod = impl.module
    _hash_tree(h, os.path.dirname(os.path.abspath(mod.__file__)))
    if impl.name == "cffi":
        import _cffi_backend
        p = _cffi_backend.__file__
        st = os.stat(p)
        h.update(("%s %d %d" % (p, st.st_size, st.st_mtime_ns)).encode())
    return h.hexdigest()[:12]


# ------------------------------------------------------ the API corpus

_RENAME = re.compile(r"has no member named [\u2018'](\w+)[\u2019']; did you "
                     r"mean [\u2018'](\w+)[\u2019']")


def _split_keep_defines(text):
    """[(chunk, its #define lines, its declaration)] covering the whole
    text; #defines are interleaved with the declarations."""
    out = []
    consumed = 0
    for _kind, chunk in corpus_mod.split_declarations(text):
        consumed += len(chunk)
        defs, body = [], []
        for line in chunk.splitlines(True):
            (defs if line.lstrip().startswith("#define") else body).append(
                line)
        out.append((chunk, "".join(defs), "".join(body)))
    rest = text[consumed:]
    out.append((rest, rest, ""))
    return out


def _unexported(names):
    """The subset of names that libc/libm do not export."""
    handles = [ctypes.CDLL(None)]
    libm = ctypes.util.find_library("m")
    if libm:
        handles.append(ctypes.CDLL(libm))
    missing = set()
    for n in names:
        for h in handles:
            try:
                getattr(h, n)
                break
            except AttributeError:
                pass
        else:
            missing.add(n)
    return missing


def api_corpus(info, label, verbose=False):
    """The corpus `label` made compilable in API mode, or None.

    The corpus was preprocessed as plain C; an API module includes
    Python.h first, which defines _GNU_SOURCE, and under it glibc names some
    struct fields differently (``fds_bits`` for ``__fds_bits``...).  And
    the headers declare functions no library exports (``__acos``...), which
    the module could not be loaded with.  So, judged by upstream cffi's
    generated C and gcc: functions and variables that libc/libm do not
    export are dropped, and fields are renamed as gcc suggests ("did you
    mean"), until the module compiles.  Cached next to the corpus as
    corpus_<label>_api.h (+ .json saying what changed)."""
    d = os.path.dirname(info["path"])
    hpath = os.path.join(d, "corpus_%s_api.h" % label)
    mpath = os.path.join(d, "corpus_%s_api.json" % label)
    if os.path.exists(mpath):
        with open(mpath) as f:
            meta = json.load(f)
        return (hpath, meta) if meta.get("ok") else (None, meta)
    import cffi      # upstream: the judge, as for the corpus itself
    with open(os.path.join(d, "meta.json")) as f:
        headers = json.load(f)["headers"]
    t0 = time.time()
    text = info["text"]
    ffi = cffi.FFI()
    ffi.cdef(text)
    names = [k.split(" ", 1)[1] for k in ffi._parser._declarations
             if k.startswith(("function ", "variable "))]
    missing = _unexported(names)
    kept = []
    dropped = 0
    for chunk, defs, decl in _split_keep_defines(text):
        if decl.strip() and corpus_mod.declared_names(decl) & missing:
            dropped += 1
            kept.append("\n" + defs)
        else:
            kept.append(chunk)
    text = "".join(kept)
    meta = {"ok": False, "source_lines": info["lines"],
            "dropped_unexported": dropped, "renamed_fields": {}}
    c_source = corpus_mod._umbrella(headers)
    inc = ["-I" + x for x in corpus_mod.EXTRA_INCLUDE_DIRS
           if os.path.isdir(x)]
    tmp = tempfile.mkdtemp(prefix="rcffi-bench-api-")
    try:
        for _round in range(6):
            ffi = cffi.FFI()
            ffi.cdef(text)
            ffi.set_source("_rb_probe", c_source)
            cfile = os.path.join(tmp, "probe.c")
            ffi.emit_c_code(cfile)
            p = subprocess.run(
                ["gcc", "-fsyntax-only", "-w"] + inc +
                ["-I" + sysconfig.get_paths()["include"], cfile],
                capture_output=True, text=True)
            if p.returncode == 0:
                meta["ok"] = True
                break
            fixes = dict(_RENAME.findall(p.stderr))
            if not fixes:
                errs = [ln for ln in p.stderr.splitlines() if "error" in ln]
                meta["error"] = "; ".join(errs[:5])[:1000]
                break
            for old, new in fixes.items():
                text = re.sub(r"\b%s\b" % re.escape(old), new, text)
            meta["renamed_fields"].update(fixes)
    finally:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    meta["lines"] = text.count("\n")
    meta["headers_source"] = c_source
    meta["include_dirs"] = [x for x in corpus_mod.EXTRA_INCLUDE_DIRS
                            if os.path.isdir(x)]
    meta["seconds"] = round(time.time() - t0, 1)
    if meta["ok"]:
        with open(hpath, "w") as f:
            f.write(text)
    with open(mpath, "w") as f:
        json.dump(meta, f, indent=1)
    log(verbose, "API corpus %s: %s (%d declarations dropped, %d fields "
        "renamed, %.1fs)" % (label, "ok" if meta["ok"] else meta["error"],
                             dropped, len(meta["renamed_fields"]),
                             meta["seconds"]))
    return (hpath, meta) if meta["ok"] else (None, meta)


# ------------------------------------------------------ building

def module_specs(cache, corpora=None, want=("bench",), verbose=False):
    """The list of module specs (dicts) for the wanted groups:
    'bench' (_rb_abi, _rb_api), 'corpus_abi', 'corpus_api'."""
    d = os.path.join(cache, "modules", "src")
    os.makedirs(d, exist_ok=True)
    specs = []
    if "bench" in want:
        for name, text in (("abi", _clib.CDEF),
                           ("api", _clib.CDEF + _clib.CDEF_API_EXTRA)):
            p = os.path.join(d, "bench_%s_%s.h" % (name, _clib.source_hash()))
            if not os.path.exists(p):
                with open(p, "w") as f:
                    f.write(text)
            spec = {"name": "_rb_" + name, "kind": name, "cdef_file": p}
            if name == "api":
                spec["c_source"] = _clib.C_SOURCE
            specs.append(spec)
    if corpora and "corpus_abi" in want:
        for label in CORPUS_ABI:
            if label in corpora:
                specs.append({"name": "_rb_c%s_abi" % label, "kind": "abi",
                              "cdef_file": corpora[label]["path"]})
    if corpora and "corpus_api" in want:
        for label in CORPUS_API:
            if label not in corpora:
                continue
            path, meta = api_corpus(corpora[label], label, verbose)
            spec = {"name": "_rb_c%s_api" % label, "kind": "api",
                    "cdef_file": path, "c_source": meta.get(
                        "headers_source", ""),
                    "include_dirs": meta.get("include_dirs", []),
                    "libraries": ["m"], "cflags": ["-O0", "-w"]}
            if path is None:
                spec["unavailable"] = ("the corpus does not compile in API "
                                       "mode: %s" % meta.get("error"))
            specs.append(spec)
    return specs


def spec_key(spec):
    """A hash of what a module is made from."""
    h = hashlib.sha256()
    if spec.get("cdef_file"):
        with open(spec["cdef_file"], "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    for k in ("name", "kind", "c_source", "libraries", "include_dirs",
              "cflags", "unavailable"):
        h.update(json.dumps(spec.get(k)).encode())
    return h.hexdigest()[:16]


def module_dir(cache, impl):
    h = hashlib.sha256()
    h.update(impl_key(impl).encode())
    h.update(sys.version.encode())
    return os.path.join(cache, "modules", "%s-%s" % (impl.name,
                                                     h.hexdigest()[:12]))


def _read_status(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ensure_modules(impls, specs, cache, rebuild=False, verbose=False):
    """Build what is missing; return {impl name: {"dir": d, "status":
    {module name: status dict}}}."""
    out = {}
    for impl in impls:
        if impl.module is None:
            continue
        d = module_dir(cache, impl)
        os.makedirs(d, exist_ok=True)
        todo = []
        for spec in specs:
            spec["key"] = spec_key(spec)
            sp = os.path.join(d, spec["name"] + ".status.json")
            old = _read_status(sp)
            if old is not None and (rebuild or old.get("key") != spec["key"]):
                os.remove(sp)
                old = None
            if old is not None:
                continue
            if spec.get("unavailable"):
                with open(sp, "w") as f:
                    json.dump({"name": spec["name"], "ok": False,
                               "key": spec["key"],
                               "error": spec["unavailable"]}, f)
                continue
            todo.append(spec)
        if todo:
            log(verbose, "building %s with %s into %s"
                % (", ".join(s["name"] for s in todo), impl.name, d))
            spec_path = os.path.join(d, "spec.json")
            with open(spec_path, "w") as f:
                json.dump({"dir": d, "modules": todo}, f, indent=1)
            p = subprocess.run([sys.executable, WORKER, "build", "--impl",
                                impl.name, "--spec", spec_path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
            if verbose and p.stderr:
                sys.stderr.write(p.stderr)
            if p.returncode != 0:
                err = (p.stderr.strip().splitlines() or ["?"])[-1]
                for spec in todo:
                    sp = os.path.join(d, spec["name"] + ".status.json")
                    if not os.path.exists(sp):
                        # not written: the build process died; retry later
                        out.setdefault(impl.name, {"dir": d, "status": {}})
                        out[impl.name]["status"][spec["name"]] = {
                            "ok": False, "error": "build process failed: "
                            + err}
        status = out.setdefault(impl.name, {"dir": d, "status": {}})["status"]
        for spec in specs:
            st = _read_status(os.path.join(d, spec["name"] + ".status.json"))
            if st is not None:
                status[spec["name"]] = st
    return out
