#!/usr/bin/env python3
"""The upstream conformance ratchet: run test files of cffi 2.0.0's own test
suite against rcffi and check that every test listed in passing.txt passes.

    python tests/upstream/run.py [--python PY] [--update] [FILE ...]

1. Gets the cffi 2.0.0 sdist from the package index (`pip download`) into a
   cache directory ($RCFFI_CACHE_DIR, else $XDG_CACHE_HOME/rcffi, else
   ~/.cache/rcffi), once; checks its sha256.
2. Extracts it into a temporary directory and deletes upstream's
   pure-Python package (src/cffi), so that only the cffi installed for PY
   can be imported.
3. Runs each test file of files.txt (or the FILEs given, paths relative to
   the sdist root) in its own pytest process of PY -- in which rcffi must be
   installed as cffi -- from an empty working directory, with a timeout.
   A plugin streams every result to disk as it happens, so a crash or a
   timeout loses only the test that was running (it counts as an error).
4. Prints passed/failed/skipped/errors per file, writes junit XML, and
   compares with passing.txt (one pytest node id per line): exits 1 if any
   listed test did not pass, listing them; lists the tests that pass but are
   not in the list yet.  --update adds those to the list (it never removes
   any).

Exit status: 0 ok, 1 regressions, 2 the run itself could not be done.
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

CFFI_VERSION = "2.0.0"
SDIST_NAME = "cffi-%s.tar.gz" % (CFFI_VERSION,)
# sha256 of cffi-2.0.0.tar.gz as published on PyPI
SDIST_SHA256 = "44d1b5909021139fe36001ae048dbdde8214afa20200eda0f64c068cac5d5529"
PLUGIN = "rcffi_ratchet_plugin"
OUTCOMES = ("passed", "failed", "skipped", "error")


class RunError(Exception):
    """The ratchet could not run; exit status 2."""


def log(msg=""):
    print(msg, flush=True)


# ---------------------------------------------------------------- the sdist

def cache_dir():
    if os.environ.get("RCFFI_CACHE_DIR"):
        return os.environ["RCFFI_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(base, "rcffi")


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def get_sdist(explicit, pythons):
    """Path of the verified cffi sdist, downloading it if needed."""
    if explicit:
        if not os.path.isfile(explicit):
            raise RunError("no such file: %s" % (explicit,))
        path = explicit
    else:
        directory = cache_dir()
        path = os.path.join(directory, SDIST_NAME)
        if not os.path.isfile(path):
            os.makedirs(directory, exist_ok=True)
            download(directory, pythons)
            if not os.path.isfile(path):
                raise RunError("pip download did not produce %s" % (path,))
    digest = sha256_of(path)
    if digest != SDIST_SHA256 and explicit:
        log("note: %s is not the published cffi %s sdist (sha256 %s)"
            % (path, CFFI_VERSION, digest))
    elif digest != SDIST_SHA256:
        raise RunError("%s has sha256 %s, expected %s; delete it to download "
                       "it again" % (path, digest, SDIST_SHA256))
    return path


def download(directory, pythons):
    argv_tail = ["-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                 "cffi==%s" % (CFFI_VERSION,), "-d", directory]
    errors = []
    for py in pythons:
        log("downloading the cffi %s sdist with %s -m pip into %s"
            % (CFFI_VERSION, py, directory))
        try:
            proc = subprocess.run([py] + argv_tail, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            errors.append("%s: %s" % (py, e))
            continue
        if proc.returncode == 0:
            return
        errors.append("%s: exit %d\n%s" % (
            py, proc.returncode,
            proc.stdout.decode("utf-8", "replace")[-2000:]))
    raise RunError("cannot download the cffi sdist:\n" + "\n".join(errors))


def extract(sdist, workdir):
    """Extract the sdist below 'workdir'; returns the tree's root, without
    upstream's Python package."""
    with tarfile.open(sdist, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(workdir, filter="data")
        else:                                   # Python < 3.12 w/o backport
            for member in tar.getmembers():
                name = os.path.normpath(member.name)
                if name.startswith(("..", os.sep)) or not (
                        member.isfile() or member.isdir()):
                    raise RunError("unexpected member in sdist: %r"
                                   % (member.name,))
            tar.extractall(workdir)
    root = os.path.join(workdir, "cffi-%s" % (CFFI_VERSION,))
    if not os.path.isdir(os.path.join(root, "testing")):
        raise RunError("%s does not look like the cffi sdist" % (sdist,))
    # upstream's own cffi must not be importable: src/c/test_c.py puts
    # src/ on sys.path, and the tree root is the rootdir
    for rel in ("src/cffi", "src/cffi.egg-info", "build"):
        shutil.rmtree(os.path.join(root, rel), ignore_errors=True)
    return root


# ------------------------------------------- what the interpreter provides

PROBE = r"""
import json, os, sys
info = {"python": sys.executable, "version": sys.version.split()[0]}
for name in ("cffi", "_cffi_backend", "rcffi", "pytest", "pycparser",
             "setuptools"):
    try:
        mod = __import__(name)
        info[name] = {"version": getattr(mod, "__version__", None),
                      "file": getattr(mod, "__file__", None),
                      "rcffi": bool(getattr(mod, "__rcffi__", False))}
    except Exception as e:
        info[name] = {"error": "%s: %s" % (type(e).__name__, e)}
missing = []
for name in ("cffi._imp_emulation", "cffi.recompiler"):
    try:
        __import__(name)
    except Exception:
        missing.append(name)
info["missing_internals"] = missing
dirs = []
for name in ("cffi", "_cffi_backend", "rcffi"):
    f = info.get(name, {}).get("file")
    if not f:
        continue
    d = os.path.dirname(os.path.abspath(f))
    if os.path.basename(f).startswith("__init__.") or name == "_cffi_backend" \
            and os.path.basename(d) == "rcffi":
        d = os.path.dirname(d)
    if d not in dirs:
        dirs.append(d)
info["impl_dirs"] = dirs
print(json.dumps(info))
"""


def probe(py):
    try:
        # From an empty directory: a stray bisect.py or pytest.py in the
        # temp dir must not shadow the modules being probed.
        with tempfile.TemporaryDirectory() as empty:
            proc = subprocess.run([py, "-c", PROBE], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=120,
                                  cwd=empty)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RunError("cannot run %s: %s" % (py, e))
    if proc.returncode != 0:
        raise RunError("%s failed:\n%s" % (
            py, proc.stderr.decode("utf-8", "replace")[-2000:]))
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


SUPPORT_FALLBACKS = '''\
# ---- added by rcffi's tests/upstream/run.py: stand-ins for two private
# ---- modules of upstream cffi, used only if the cffi under test lacks them
import sys as _rr_sys
try:
    import cffi._imp_emulation
except ImportError:
    import types as _rr_types
    def _rr_load_dynamic(name, path, file=None):
        import importlib.machinery, importlib.util
        loader = importlib.machinery.ExtensionFileLoader(name, path)
        spec = importlib.util.spec_from_file_location(name, path,
                                                      loader=loader)
        module = importlib.util.module_from_spec(spec)
        _rr_sys.modules[name] = module
        loader.exec_module(module)
        return module
    _rr_mod = _rr_types.ModuleType("cffi._imp_emulation")
    _rr_mod.load_dynamic = _rr_load_dynamic
    _rr_sys.modules["cffi._imp_emulation"] = _rr_mod
try:
    from cffi.recompiler import recompile as _rr_recompile
except ImportError:
    import types as _rr_types
    def _rr_recompile(ffi, module_name, preamble, tmpdir='.',
                      compiler_verbose=1, target=None, debug=None, **kw):
        if hasattr(ffi, '_assigned_source'):
            del ffi._assigned_source
        ffi.set_source(module_name, preamble, **kw)
        return ffi.compile(tmpdir=tmpdir, verbose=compiler_verbose,
                           target=target, debug=debug)
    _rr_mod = _rr_sys.modules.get("cffi.recompiler") or \\
        _rr_types.ModuleType("cffi.recompiler")
    _rr_mod.recompile = _rr_recompile
    _rr_sys.modules["cffi.recompiler"] = _rr_mod
# ---- end of the rcffi additions
'''


def add_support_fallbacks(root):
    """Make testing/support.py work if the cffi under test lacks
    cffi._imp_emulation or cffi.recompiler.recompile (rcffi has both)."""
    path = os.path.join(root, "testing", "support.py")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(SUPPORT_FALLBACKS + text)


# ------------------------------------------------------------ running files

def safe_name(testfile):
    return testfile.replace("/", "__").replace("\\", "__").rsplit(".py", 1)[0]


def read_stream(path):
    """(results {nodeid: outcome}, begun [nodeid], collect errors)"""
    results, begun, collect_errors = {}, [], []
    if not os.path.exists(path):
        return results, begun, collect_errors
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue            # a line torn by a kill
            ev = rec.get("ev")
            if ev == "begin":
                begun.append(rec["id"])
            elif ev == "end":
                results[rec["id"]] = rec["outcome"]
            elif ev == "collect-error":
                collect_errors.append(rec)
    return results, begun, collect_errors


def kill_group(proc):
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except OSError:
            pass
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_file(py, root, testfile, out, timeout, impl_dirs, pytest_args):
    safe = safe_name(testfile)
    stream = os.path.join(out, "stream", safe + ".jsonl")
    junit = os.path.join(out, "junit", safe + ".xml")
    logfile = os.path.join(out, "logs", safe + ".log")
    cwd = os.path.join(out, "cwd", safe)
    tmp = os.path.join(out, "tmp", safe)
    for d in (cwd, tmp):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    for f in (stream, junit):
        if os.path.exists(f):
            os.unlink(f)
    result = {"file": testfile, "status": "ok", "rc": None, "seconds": 0.0,
              "results": {}, "unfinished": [], "collect_errors": []}
    if not os.path.isfile(os.path.join(root, testfile)):
        result["status"] = "missing"
        result["results"] = {}
        with open(logfile, "w") as f:
            f.write("%s: no such file in the sdist\n" % (testfile,))
        return result

    pythonpath = [HERE]
    if testfile.startswith("testing/embedding/"):
        # the programs of these tests start their own interpreter from
        # libpython, which knows nothing of our environment's site dirs
        pythonpath += impl_dirs
    env = dict(os.environ)
    if env.get("PYTHONPATH"):
        pythonpath.append(env["PYTHONPATH"])
    env.update({
        "PYTHONPATH": os.pathsep.join(pythonpath),
        "RCFFI_RATCHET_STREAM": stream,
        "TMPDIR": tmp,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONFAULTHANDLER": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PATH": os.path.dirname(py) + os.pathsep + env.get("PATH", ""),
    })
    argv = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", PLUGIN,
            "-c", os.path.join(root, "pytest.ini"), "--rootdir", root,
            "-rfEs", "--tb=short", "--junitxml", junit] + pytest_args + [
            os.path.join(root, testfile)]
    t0 = time.monotonic()
    with open(logfile, "wb") as logf:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            rc = None
    result["seconds"] = time.monotonic() - t0
    result["rc"] = rc
    results, begun, collect_errors = read_stream(stream)
    result["results"] = results
    result["collect_errors"] = [c["id"] for c in collect_errors]
    if rc is None:
        result["status"] = "timeout after %ds" % (timeout,)
    elif rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = "signal %d" % (-rc,)
        result["status"] = "crashed (%s)" % (name,)
    elif rc not in (0, 1, 5):         # 5: nothing collected
        # 2: interrupted or collection errors, 3: internal error, 4: usage
        result["status"] = "pytest exit %d" % (rc,)
    if result["status"] != "ok":
        result["unfinished"] = [n for n in begun if n not in results]
    return result


def counts_of(result):
    c = dict.fromkeys(OUTCOMES, 0)
    for outcome in result["results"].values():
        c[outcome] = c.get(outcome, 0) + 1
    c["error"] += len(result["unfinished"]) + len(result["collect_errors"])
    if (result["status"] != "ok" and not result["results"]
            and not result["unfinished"] and not result["collect_errors"]):
        c["error"] += 1         # the file as a whole failed
    return c


def write_junit(out, runs):
    """Merge the per-file junit files; a file whose pytest died before
    writing one gets a suite made from the streamed results."""
    top = ET.Element("testsuites")
    for run in runs:
        path = os.path.join(out, "junit", safe_name(run["file"]) + ".xml")
        suites = []
        if os.path.exists(path):
            try:
                root = ET.parse(path).getroot()
                suites = [root] if root.tag == "testsuite" else list(root)
            except ET.ParseError:
                suites = []
        if suites:
            for suite in suites:
                suite.set("name", run["file"])
                top.append(suite)
            continue
        c = counts_of(run)
        suite = ET.SubElement(top, "testsuite", name=run["file"],
                              tests=str(sum(c.values())),
                              failures=str(c["failed"]), errors=str(c["error"]),
                              skipped=str(c["skipped"]),
                              time="%.3f" % (run["seconds"],))
        for nodeid, outcome in sorted(run["results"].items()):
            case = ET.SubElement(suite, "testcase", name=nodeid,
                                 classname=run["file"])
            if outcome != "passed":
                tag = {"failed": "failure", "error": "error",
                       "skipped": "skipped"}[outcome]
                ET.SubElement(case, tag, message=outcome)
        for nodeid in run["unfinished"] + run["collect_errors"] + (
                ["<file>"] if c["error"] and not (
                    run["results"] or run["unfinished"]
                    or run["collect_errors"]) else []):
            case = ET.SubElement(suite, "testcase", name=nodeid,
                                 classname=run["file"])
            ET.SubElement(case, "error", message=run["status"])
    ET.ElementTree(top).write(os.path.join(out, "junit.xml"),
                              encoding="utf-8", xml_declaration=True)


# ---------------------------------------------------------------- the lists

def read_list(path):
    """The entries of a list file: one per line; blank lines and lines
    starting with '#' are ignored."""
    items = []
    if not os.path.exists(path):
        return items
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                items.append(line)
    return items


def update_passing(path, new_ids):
    """Add 'new_ids' to the list file, keeping every line it has."""
    with open(path, "a+") as f:
        f.seek(0)
        text = f.read()
        if text and not text.endswith("\n"):
            f.write("\n")
        for nodeid in sorted(new_ids):
            f.write(nodeid + "\n")


# --------------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Run upstream cffi's tests against rcffi; check the "
                    "list of tests that must pass.")
    parser.add_argument("files", nargs="*",
                        help="test files relative to the sdist root "
                             "(default: those in --files-list)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter in which rcffi is installed as "
                             "cffi (default: this one)")
    parser.add_argument("--files-list", default=os.path.join(HERE, "files.txt"))
    parser.add_argument("--passing", default=os.path.join(HERE, "passing.txt"))
    parser.add_argument("--update", action="store_true",
                        help="add the tests that newly pass to --passing")
    parser.add_argument("--timeout", type=int, default=int(
        os.environ.get("RCFFI_RATCHET_TIMEOUT", "900")),
        help="seconds per test file (default 900)")
    parser.add_argument("--out", default=os.path.join(REPO, "build",
                                                      "upstream"),
                        help="directory for logs and junit xml "
                             "(default: build/upstream in the repository)")
    parser.add_argument("--sdist", default=os.environ.get("RCFFI_CFFI_SDIST"),
                        help="use this cffi-%s.tar.gz instead of the cache"
                             % (CFFI_VERSION,))
    parser.add_argument("--keep-tree", action="store_true",
                        help="keep the extracted sdist (path is printed)")
    parser.add_argument("-k", dest="keyword",
                        help="only run tests matching this pytest -k "
                             "expression (the list check then only covers "
                             "the tests that ran)")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except RunError as e:
        log("tests/upstream/run.py: error: %s" % (e,))
        return 2


def run(args):
    py = args.python
    if os.sep not in py:
        py = shutil.which(py) or py
    # absolute, but without resolving symlinks: a venv's python is one
    py = os.path.join(os.path.abspath(os.path.dirname(py)),
                      os.path.basename(py))
    files = args.files or read_list(args.files_list)
    if not files:
        raise RunError("no test files to run")
    out = os.path.abspath(args.out)
    for sub in ("stream", "junit", "logs", "cwd", "tmp"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
        os.makedirs(os.path.join(out, sub))

    info = probe(py)
    with open(os.path.join(out, "env.json"), "w") as f:
        json.dump(info, f, indent=1)
    log("interpreter: %s (Python %s)" % (py, info["version"]))
    for name in ("cffi", "_cffi_backend", "pytest"):
        d = info.get(name, {})
        log("  %-14s %s" % (name, d.get("error") or "%s %s%s" % (
            d.get("version"), d.get("file"),
            "  [rcffi]" if d.get("rcffi") else "")))
    if "error" in info.get("pytest", {}):
        raise RunError("pytest is not importable by %s" % (py,))
    if not info.get("cffi", {}).get("rcffi"):
        log("  note: this interpreter's cffi is not rcffi")

    sdist = get_sdist(args.sdist, [sys.executable] + (
        [py] if py != sys.executable else []))
    workdir = tempfile.mkdtemp(prefix="rcffi-upstream-")
    try:
        root = extract(sdist, workdir)
        if info["missing_internals"]:
            add_support_fallbacks(root)
        with open(os.path.join(root, "pytest.ini"), "w") as f:
            # pins rootdir (node ids are relative to the sdist root) and
            # keeps setup.cfg / pyproject.toml of the sdist out of pytest
            f.write("[pytest]\njunit_family = xunit1\n"
                    "faulthandler_timeout = %d\n" % (max(60, args.timeout // 2),))
        pytest_args = ["-k", args.keyword] if args.keyword else []
        runs = []
        for testfile in files:
            result = run_file(py, root, testfile, out, args.timeout,
                              info.get("impl_dirs", []), pytest_args)
            runs.append(result)
            c = counts_of(result)
            log("%s passed=%d failed=%d skipped=%d errors=%d seconds=%.1f%s" % (
                testfile, c["passed"], c["failed"], c["skipped"], c["error"],
                result["seconds"],
                "" if result["status"] == "ok" else "  [%s]" % (result["status"],)))
    finally:
        if args.keep_tree:
            log("sdist tree kept in %s" % (workdir,))
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    write_junit(out, runs)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(runs, f, indent=1, sort_keys=True)
    return compare(args, files, runs, out)


def compare(args, files, runs, out):
    total = dict.fromkeys(OUTCOMES, 0)
    outcome = {}
    for run in runs:
        for k, v in counts_of(run).items():
            total[k] += v
        outcome.update(run["results"])
        for nodeid in run["unfinished"]:
            outcome[nodeid] = "error (%s)" % (run["status"],)
    log("TOTAL passed=%d failed=%d skipped=%d errors=%d   (logs, junit.xml: %s)"
        % (total["passed"], total["failed"], total["skipped"], total["error"],
           out))

    expected = read_list(args.passing)
    ran = set(files)
    considered = [n for n in expected if n.split("::", 1)[0] in ran]
    if args.keyword:
        # with -k, tests that were deselected are not regressions
        considered = [n for n in considered if n in outcome]
    not_run_files = sorted({n.split("::", 1)[0] for n in expected} - ran)
    regressions = [n for n in considered if outcome.get(n) != "passed"]
    expected_set = set(expected)
    new = sorted(n for n, o in outcome.items()
                 if o == "passed" and n not in expected_set)

    log("passing.txt: %d tests, %d of them in the files run"
        % (len(expected), len(considered)))
    if not_run_files:
        log("  (not checked, their files were not run: %s)"
            % (", ".join(not_run_files),))
    if new:
        log("%d tests pass but are not in passing.txt%s:" % (
            len(new), "; adding them" if args.update else
            " (add them with --update)"))
        for n in new:
            log("  + " + n)
        if args.update:
            update_passing(args.passing, new)
    if regressions:
        log("REGRESSION: %d tests in passing.txt did not pass:"
            % (len(regressions),))
        for n in regressions:
            log("  - %s: %s" % (n, outcome.get(n, "not run / not collected")))
        return 1
    log("ratchet OK: every listed test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
