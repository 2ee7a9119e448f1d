"""A realistic cdef corpus, made at run time from this machine's system headers.

    python bench/corpus.py [--force] [--check-rcffi] [--quiet]

Pipeline (all in this file, nothing read from outside the machine's headers):

1. An umbrella file includes the common headers listed in HEADERS that exist
   here (``__has_include``); ``gcc -E -P`` turns it into one translation
   unit, ``gcc -E -dM`` lists its macros.
2. GCC-isms that cffi has no syntax for are removed (``__attribute__((..))``,
   ``__asm__(..)``, ``__extension__``, ``__restrict`` spellings, ...).
3. The text is cut into top-level declarations.  Function definitions (inline
   bodies), ``static``/``inline`` declarations, initialised variables and
   declarations using constructs cffi cannot express (``__int128``,
   ``_Float128``, ``typeof``, ``_Static_assert``, ``sizeof`` in constants,
   ``__builtin_va_list``, ...) are dropped; the typedef names they declare are
   "poisoned" so that the declarations that use them go too.
4. Integer ``#define``s of the same headers are interleaved, as real cdefs
   are full of them.
5. Upstream cffi (``import cffi``) is the judge: the declarations are fed to
   one ``FFI`` in batches; a batch that fails is rolled back, the offending
   declaration found (line number of the error, else bisection), dropped and
   its typedef names poisoned.  Later repeats of a name are dropped (cdef
   rejects duplicates).
6. Prefixes cut at declaration boundaries give the ~1k/5k/20k-line corpora.
   If the headers give fewer lines than wanted, renamed copies of the whole
   corpus are appended (every name cffi reports as declared gets a suffix).
   Each final corpus is parsed once more by a fresh upstream ``FFI``.

Results are cached in ``$RCFFI_BENCH_CACHE`` (default
``$XDG_CACHE_HOME/rcffi-bench`` or ``~/.cache/rcffi-bench``), keyed by a hash
of the preprocessed headers, this file and the cffi version, so a run after
the first only pays for ``gcc -E``.  Generating needs upstream cffi.

Next to each ``corpus_<label>.h`` is ``corpus_<label>.json`` with the line
count and the names of up to 50 complete struct types and 50 typedefs that
upstream can ``sizeof``/``typeof`` (for the "cdef + first use" benchmark).
"""
import bisect
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings

import _common

GENERATOR_VERSION = "1"

SIZES = {"1k": 1000, "5k": 5000, "20k": 20000}

# Common headers, in the order a big binding would include them.  Missing
# ones are skipped (``__has_include``).
HEADERS = """
stddef.h stdint.h stdbool.h stdarg.h limits.h
stdio.h stdlib.h string.h strings.h ctype.h errno.h time.h locale.h
wchar.h wctype.h math.h fenv.h inttypes.h setjmp.h signal.h
sys/types.h sys/stat.h sys/time.h sys/times.h sys/resource.h sys/wait.h
sys/uio.h sys/mman.h sys/select.h sys/socket.h sys/un.h sys/utsname.h
sys/ioctl.h sys/statvfs.h sys/epoll.h sys/eventfd.h sys/inotify.h
sys/sysinfo.h sys/file.h
unistd.h fcntl.h dirent.h dlfcn.h poll.h pwd.h grp.h termios.h glob.h
fnmatch.h regex.h syslog.h utime.h sched.h pthread.h semaphore.h iconv.h
langinfo.h spawn.h getopt.h libgen.h search.h
netdb.h netinet/in.h netinet/tcp.h arpa/inet.h ifaddrs.h net/if.h
zlib.h bzlib.h lzma.h zstd.h lz4.h
sqlite3.h expat.h yaml.h ffi.h uuid/uuid.h magic.h
openssl/crypto.h openssl/bio.h openssl/bn.h openssl/evp.h openssl/err.h
openssl/rand.h openssl/rsa.h openssl/ec.h openssl/hmac.h openssl/x509.h
openssl/x509v3.h openssl/pem.h openssl/pkcs12.h openssl/ssl.h
openssl/asn1.h openssl/objects.h openssl/ocsp.h openssl/cms.h
libxml/parser.h libxml/tree.h libxml/xpath.h libxml/xmlreader.h
libxml/xmlwriter.h libxml/HTMLparser.h libxml/xmlschemas.h
png.h jpeglib.h ncurses.h
X11/Xlib.h X11/Xutil.h xcb/xcb.h xcb/xproto.h
gnutls/gnutls.h gnutls/x509.h
""".split()

EXTRA_INCLUDE_DIRS = ["/usr/include/libxml2"]

C_KEYWORDS = set("""
auto break case char const continue default do double else enum extern float
for goto if inline int long register restrict return short signed sizeof
static struct switch typedef union unsigned void volatile while _Bool
_Complex _Imaginary
""".split())

# Removed together with their parenthesised argument.
_STRIP_CALL = re.compile(r"\b(__attribute__|__attribute|__asm__|__asm|asm|"
                         r"__declspec|__nonnull|__wur|__THROW)\s*\(")
_REWRITES = [
    (re.compile(r"\b__extension__\b"), " "),
    (re.compile(r"\b(__restrict__|__restrict)\b"), "restrict"),
    (re.compile(r"\b(__inline__|__inline)\b"), "inline"),
    (re.compile(r"\b__const\b"), "const"),
    (re.compile(r"\b__signed__\b"), "signed"),
    (re.compile(r"\b(__volatile__|__volatile)\b"), "volatile"),
    (re.compile(r"\b(_Noreturn|__noreturn__)\b"), " "),
]
# A declaration using any of these cannot be written in a cdef.
_UNSUPPORTED = re.compile(
    r"\b(__int128|__int128_t|__uint128_t|_Float\d+x?|__float128|__float80|"
    r"__ibm128|_Decimal\d+|__bf16|_BitInt|typeof|__typeof__|__typeof|"
    r"_Static_assert|static_assert|_Atomic|_Alignas|_Alignof|__alignof__|"
    r"__thread|_Thread_local|__builtin_\w+|__auto_type|__label__|sizeof|"
    r"offsetof)\b")
_IDENT = re.compile(r"[A-Za-z_]\w*")
_DEFINE = re.compile(
    r"^#define\s+([A-Za-z]\w*)\s+(-?(?:0[xX][0-9a-fA-F]+|[1-9]\d*|0[0-7]*))"
    r"([uU]?[lL]{0,2}|[lL]{1,2}[uU])\s*$")


def log(verbose, *args):
    if verbose:
        print("[corpus]", *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- stage 1


def _gcc(args, stdin_text):
    return subprocess.run(["gcc"] + args, input=stdin_text, check=True,
                          capture_output=True, text=True).stdout


def _umbrella(headers):
    out = []
    for h in headers:
        out.append("#if __has_include(<%s>)\n#include <%s>\n#endif\n" % (h, h))
    return "".join(out)


def _include_flags():
    incs = []
    for d in EXTRA_INCLUDE_DIRS:
        if os.path.isdir(d):
            incs += ["-I", d]
    return incs


def preprocess(verbose=False):
    """Return (preprocessed text, macro text, headers used)."""
    base = ["-E", "-std=gnu11"] + _include_flags() + ["-x", "c", "-"]
    probe = "".join("#if __has_include(<%s>)\nHAVE %s\n#endif\n" % (h, h)
                    for h in HEADERS)
    headers = [ln.split()[1] for ln in _gcc(["-P"] + base, probe).splitlines()
               if ln.startswith("HAVE ")]
    try:
        pre = _gcc(["-P"] + base, _umbrella(headers))
    except subprocess.CalledProcessError:
        # some header that exists does not compile: keep those that do
        ok = []
        for h in headers:
            try:
                _gcc(base, _umbrella(ok + [h]))
                ok.append(h)
            except subprocess.CalledProcessError:
                log(verbose, "skipping header", h)
        headers = ok
        pre = _gcc(["-P"] + base, _umbrella(headers))
    macros = _gcc(["-dM"] + base, _umbrella(headers))
    return pre, macros, headers


def eval_sizeof_bounds(text, headers, verbose=False):
    """Array bounds written with sizeof (``__val[1024 / (8 * sizeof (long))]``
    in sigset_t, fd_set, FILE, sockaddr_in, ...) are replaced by their value,
    computed by compiling and running a small C program that includes the
    same headers.  Bounds that cannot be computed are left alone (and the
    declaration is then dropped as unsupported)."""
    exprs = []
    spans = []
    i = 0
    while True:
        i = text.find("[", i)
        if i < 0:
            break
        j = _skip_balanced(text, i, "[", "]")
        inner = text[i + 1:j - 1]
        if re.search(r"\bsizeof\b", inner):
            spans.append((i, j, inner))
            if inner not in exprs:
                exprs.append(inner)
            i = j
        else:
            i += 1
    if not exprs:
        return text

    def run(batch):
        src = _umbrella(headers) + "#include <stdio.h>\nint main(void) {\n"
        for e in batch:
            src += '  printf("%%lld\\n", (long long)(%s));\n' % e
        src += "  return 0;\n}\n"
        tmp = tempfile.mkdtemp(prefix="rcffi-bench-")
        exe = os.path.join(tmp, "sizes")
        try:
            subprocess.run(["gcc", "-std=gnu11", "-w"] + _include_flags()
                           + ["-x", "c", "-", "-o", exe], input=src,
                           check=True, capture_output=True, text=True)
            outp = subprocess.run([exe], check=True, capture_output=True,
                                  text=True).stdout.split()
        finally:
            for f in os.listdir(tmp):
                os.unlink(os.path.join(tmp, f))
            os.rmdir(tmp)
        return dict(zip(batch, outp))
    try:
        values = run(exprs)
    except (subprocess.CalledProcessError, OSError):
        values = {}
        for e in exprs:
            try:
                values.update(run([e]))
            except (subprocess.CalledProcessError, OSError):
                log(verbose, "cannot evaluate [%s]" % e)
    out = []
    pos = 0
    for i, j, inner in spans:
        if inner in values:
            out.append(text[pos:i])
            out.append("[%s]" % values[inner])
            pos = j
    out.append(text[pos:])
    log(verbose, "evaluated %d sizeof array bounds" % len(values))
    return "".join(out)


def _strip_calls(text):
    out = []
    pos = 0
    while True:
        m = _STRIP_CALL.search(text, pos)
        if m is None:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:m.start()])
        i = m.end()
        depth = 1
        while i < len(text) and depth:
            c = text[i]
            if c == '"':
                i += 1
                while i < len(text) and text[i] != '"':
                    i += 2 if text[i] == "\\" else 1
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            i += 1
        out.append(" ")
        pos = i


def _end_of_literal(text, i):
    """text[i] opens a string or character literal: the index of its closing quote (or the end
    of the text)."""
    quote, n = text[i], len(text)
    i += 1
    while i < n and text[i] != quote:
        i += 2 if text[i] == "\\" else 1
    return i


def _skip_balanced(text, i, open_c, close_c):
    """text[i] == open_c; return the index just after the matching close."""
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return i + 1
        elif c == '"' or c == "'":
            i = _end_of_literal(text, i)
        i += 1
    return n


def split_declarations(text):
    """Cut into top-level declarations.  Returns a list of (kind, text)
    with kind 'decl' or 'funcdef' (a function body was present)."""
    out = []
    start = 0
    depth = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "{" and depth == 0 and text[start:i].rstrip().endswith(")"):
            j = _skip_balanced(text, i, "{", "}")
            out.append(("funcdef", text[start:j]))
            start = i = j
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c == ";" and depth == 0:
            out.append(("decl", text[start:i + 1]))
            start = i + 1
        elif c == '"' or c == "'":
            i = _end_of_literal(text, i)
        i += 1
    return out


def _tidy(decl):
    lines = [ln.rstrip() for ln in decl.split("\n")]
    return "\n".join(ln for ln in lines if ln.strip()).strip() + "\n"


def _has_toplevel_initializer(decl):
    depth = 0
    for c in decl:
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c == "=" and depth == 0:
            return True
    return False


def _strip_declarator_noise(s):
    """Drop bodies, array sizes and parameter lists: what remains of each
    declarator ends with its name.  A parenthesised group followed by '('
    or '[' is part of a declarator (``(*fp)(int)``, ``(name)(int)``) and
    only loses its parentheses; any other group is a parameter list."""
    out = []
    blank = set()
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "{":
            i = _skip_balanced(s, i, "{", "}")
            out.append(" ")
            continue
        if c == "[":
            i = _skip_balanced(s, i, "[", "]")
            continue
        if c == "(":
            j = _skip_balanced(s, i, "(", ")")
            k = j
            while k < n and s[k].isspace():
                k += 1
            if k < n and s[k] in "([":
                blank.add(j - 1)
                out.append(" ")
                i += 1
                continue
            i = j
            out.append(" ")
            continue
        out.append(" " if i in blank else c)
        i += 1
    return "".join(out)


def typedef_names(decl):
    """Heuristic: the names a 'typedef ...;' declaration introduces (used
    only to poison the users of a dropped typedef)."""
    s = decl.strip()
    if not s.startswith("typedef"):
        return set()
    stripped = _strip_declarator_noise(s)
    names = set()
    for piece in stripped.rstrip(";").split(","):
        ids = [t for t in _IDENT.findall(piece) if t not in C_KEYWORDS]
        if ids:
            names.add(ids[-1])
    return names


def declared_names(decl):
    """Heuristic: every name a declaration may introduce at file scope
    (typedef names, tag names with a body, functions, variables, enum
    constants).  Used to drop repeated declarations."""
    names = set(typedef_names(decl))
    s = decl.strip()
    for m in re.finditer(r"\b(struct|union|enum)\s+(\w+)\s*\{", s):
        names.add(m.group(1) + " " + m.group(2))
    for m in re.finditer(r"\benum\b[^{;]*\{", s):
        j = _skip_balanced(s, m.end() - 1, "{", "}")
        body = s[m.end():j - 1]
        for item in body.split(","):
            ids = _IDENT.findall(item)
            if ids:
                names.add(ids[0])
    if not s.startswith("typedef"):
        # functions and variables: the last identifier of each declarator
        # once bodies, array sizes and parameter lists are gone
        rest = _strip_declarator_noise(s).rstrip(";")
        if not re.match(r"\s*(struct|union|enum)\s+\w*\s*$", rest):
            for piece in rest.split(","):
                ids = [t for t in _IDENT.findall(piece)
                       if t not in C_KEYWORDS]
                if ids:
                    names.add(ids[-1])
    return names


def candidate_declarations(pre, macros, headers, verbose=False):
    """Stage 1: from preprocessed text to a list of declaration strings
    (plus interleaved #define lines), without consulting cffi.  Returns
    (declarations, stats, [(reason, dropped declaration)])."""
    # '#pragma' and other directives that survive 'gcc -E -P'
    text = re.sub(r"(?m)^[ \t]*#.*$", "", pre)
    text = _strip_calls(text)
    for rx, rep in _REWRITES:
        text = rx.sub(rep, text)
    text = eval_sizeof_bounds(text, headers, verbose)
    pieces = split_declarations(text)
    stats = {"top_level": len(pieces), "funcdef": 0, "static_inline": 0,
             "initialised": 0, "unsupported": 0, "poisoned": 0,
             "duplicate": 0}
    poisoned = set()
    seen = set()
    decls = []
    dropped = []
    for kind, raw in pieces:
        d = _tidy(raw)
        if d.strip() == ";":
            continue
        if kind == "funcdef":
            stats["funcdef"] += 1
            continue
        tokens = set(_IDENT.findall(d))
        reason = None
        if re.match(r"(static|inline|extern\s+inline)\b", d) or \
                "inline" in tokens:
            reason = "static_inline"
        elif _UNSUPPORTED.search(d):
            reason = "unsupported"
        elif _has_toplevel_initializer(d):
            reason = "initialised"
        elif tokens & poisoned:
            reason = "poisoned"
        if reason is None:
            names = declared_names(d)
            if names & seen:
                reason = "duplicate"
        if reason is not None:
            stats[reason] += 1
            dropped.append((reason, d))
            # a repeat leaves the first definition in place: poison only
            # the names nobody defined
            poisoned |= typedef_names(d) - seen
            continue
        seen |= names
        decls.append(d)
    # integer macros, not clashing with any identifier of the declarations
    used = set()
    for d in decls:
        used.update(_IDENT.findall(d))
    defines = []
    for line in macros.splitlines():
        m = _DEFINE.match(line)
        if m and m.group(1) not in used:
            defines.append("#define %s %s%s\n" % m.groups())
    stats["declarations"] = len(decls)
    stats["defines"] = len(defines)
    # interleave: spread the defines evenly between declarations
    out = []
    if defines:
        step = len(decls) / float(len(defines))
        di = 0
        for i, d in enumerate(decls):
            out.append(d)
            while di < len(defines) and di * step <= i:
                out.append(defines[di])
                di += 1
        out.extend(defines[di:])
    else:
        out = decls
    log(verbose, "stage 1:", json.dumps(stats))
    return out, stats, dropped


# ---------------------------------------------------------------- stage 2


class _Judge(object):
    """One upstream FFI fed in batches, with rollback on failure."""

    def __init__(self, cffi):
        self.cffi = cffi
        self.ffi = cffi.FFI()
        self.model = sys.modules[cffi.__name__ + ".model"]

    def _snapshot(self):
        p = self.ffi._parser
        state = {}
        for k, v in p.__dict__.items():
            if isinstance(v, (dict, list, set)):
                state[k] = v.copy()
            else:
                state[k] = v
        structs = []
        for tp, _ in p._declarations.values():
            if isinstance(tp, self.model.StructOrUnion):
                structs.append((tp, dict(tp.__dict__)))
        return state, structs

    def _restore(self, snap):
        state, structs = snap
        p = self.ffi._parser
        p.__dict__.clear()
        p.__dict__.update(state)
        for tp, d in structs:
            tp.__dict__.clear()
            tp.__dict__.update(d)

    def try_add(self, text):
        """cdef text on top of the accepted state; keep it on success,
        roll back and return the exception on failure."""
        snap = self._snapshot()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.ffi.cdef(text)
        except Exception as e:
            self._restore(snap)
            return e
        return None


def _error_line(exc):
    m = re.search(r"<cdef source string>:(\d+)", str(exc))
    return int(m.group(1)) if m else None


def judge(cands, cffi, verbose=False, batch=400):
    """Stage 2: keep the declarations upstream cffi accepts, in order."""
    j = _Judge(cffi)
    decls = j.ffi._parser._declarations
    queue = list(cands)
    accepted = []
    poisoned = set()
    dropped = []
    pos = 0
    t0 = time.time()

    def poison(d):
        for name in typedef_names(d):
            if "typedef " + name not in decls:
                poisoned.add(name)

    while pos < len(queue):
        chunk = []
        k = pos
        while k < len(queue) and len(chunk) < batch:
            d = queue[k]
            if poisoned and not poisoned.isdisjoint(_IDENT.findall(d)):
                dropped.append(("poisoned", d))
                poison(d)
            else:
                chunk.append(d)
            k += 1
        err = j.try_add("".join(chunk))
        if err is None:
            accepted.extend(chunk)
            pos = k
            continue
        # find the offending declaration: first trust the line number of
        # the error, then bisect for the shortest failing prefix
        bad = False
        line = _error_line(err)
        if line is not None:
            starts = []
            ln = 1
            for d in chunk:
                starts.append(ln)
                ln += d.count("\n")
            guess = bisect.bisect_right(starts, line) - 1
            if 0 <= guess < len(chunk) and \
                    j.try_add("".join(chunk[:guess])) is None:
                accepted.extend(chunk[:guess])
                chunk = chunk[guess:]
                err2 = j.try_add(chunk[0])
                if err2 is not None:
                    err, bad = err2, True
                else:
                    accepted.append(chunk[0])
                    chunk = chunk[1:]
        if not bad and chunk:
            lo, hi = 1, len(chunk)
            while lo < hi:
                mid = (lo + hi) // 2
                snap = j._snapshot()
                ok = j.try_add("".join(chunk[:mid])) is None
                j._restore(snap)
                if ok:
                    lo = mid + 1
                else:
                    hi = mid
            if j.try_add("".join(chunk[:lo - 1])) is None:
                accepted.extend(chunk[:lo - 1])
                chunk = chunk[lo - 1:]
            err2 = j.try_add(chunk[0])
            if err2 is not None:
                err, bad = err2, True
            else:
                accepted.append(chunk[0])
                chunk = chunk[1:]
        if bad:
            d = chunk.pop(0)
            msg = str(err).strip().splitlines()[-1][:120]
            dropped.append((msg, d))
            log(verbose, "upstream rejects: %s -- %r" % (msg, d[:70]))
            poison(d)
        # what is left of the batch goes back to the queue
        queue[pos:k] = chunk
    log(verbose, "stage 2: %d accepted, %d dropped, %.1fs"
        % (len(accepted), len(dropped), time.time() - t0))
    return accepted, dropped, j.ffi


# ---------------------------------------------------------------- stage 3


def _cut(decls, nlines):
    out = []
    count = 0
    for d in decls:
        if count >= nlines:
            break
        out.append(d)
        count += d.count("\n")
    return out


def _renamer(ffi_parsed):
    """A function renaming every name the parsed FFI declares."""
    p = ffi_parsed._parser
    names = set()
    for key in p._declarations:
        kind, _, name = key.partition(" ")
        if kind != "anonymous" and not name.startswith("$"):
            names.add(name)
    names.update(p._int_constants)
    names -= C_KEYWORDS

    def rename(text, suffix):
        return _IDENT.sub(
            lambda m: m.group() + suffix if m.group() in names else m.group(),
            text)
    return rename


def pick_names(ffi, text, limit=50):
    """Up to `limit` complete struct types and typedefs, spread over the
    corpus, that upstream can sizeof/typeof."""
    p = ffi._parser
    # complete structs only (an opaque one cannot be sized)
    structs = [k for k, (tp, _) in p._declarations.items()
               if k.startswith("struct ") and not k[7:].startswith("$")
               and getattr(tp, "fldnames", None) is not None]
    typedefs = [k[8:] for k in p._declarations if k.startswith("typedef ")]

    def spread(items, ok):
        good = []
        step = max(1, len(items) // (limit * 2))
        for n, it in enumerate(items[::step] + items):
            if len(good) >= limit or n >= limit * 4:
                break
            if it in good:
                continue
            try:
                ok(it)
            except Exception:
                continue
            good.append(it)
        return good
    return (spread(structs, ffi.sizeof), spread(typedefs, ffi.typeof))


def _upstream_cffi():
    import cffi
    if getattr(cffi, "__name__", "") != "cffi" or \
            "rcffi" in getattr(cffi, "__file__", ""):
        raise RuntimeError("corpus generation needs upstream cffi")
    return cffi


def get_corpora(force=False, verbose=False, sizes=SIZES, max_base_lines=None):
    """Return {label: {"text", "lines", "path", "structs", "typedefs"}},
    generating (or reading from the cache) the corpora."""
    pre, macros, headers = preprocess(verbose=False)
    cffi = _upstream_cffi()
    with open(os.path.abspath(__file__), "rb") as f:
        me = f.read()
    h = hashlib.sha256()
    for part in (pre.encode(), macros.encode(), me, cffi.__version__.encode(),
                 json.dumps(sorted(sizes.items())).encode(),
                 str(max_base_lines).encode()):
        h.update(hashlib.sha256(part).digest())
    key = h.hexdigest()[:16]
    d = os.path.join(_common.cache_dir(), key)
    meta_path = os.path.join(d, "meta.json")
    if not force and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        out = {}
        for label in sizes:
            info = dict(meta["corpora"][label])
            with open(os.path.join(d, "corpus_%s.h" % label)) as f:
                info["text"] = f.read()
            info["path"] = os.path.join(d, "corpus_%s.h" % label)
            out[label] = info
        return out
    t0 = time.time()
    log(verbose, "generating into", d)
    cands, stats1, dropped1 = candidate_declarations(pre, macros, headers,
                                                     verbose)
    if max_base_lines:          # for testing the renamed-copies path
        cands = _cut(cands, max_base_lines)
    accepted, dropped, ffi_all = judge(cands, cffi, verbose)
    base_lines = sum(x.count("\n") for x in accepted)
    want = max(sizes.values())
    full = list(accepted)
    copies = 0
    if base_lines < want:
        rename = _renamer(ffi_all)
        while sum(x.count("\n") for x in full) < want:
            copies += 1
            full.extend(rename(x, "_r%d" % copies) for x in accepted)
    os.makedirs(d, exist_ok=True)
    meta = {"generator": GENERATOR_VERSION, "cffi": cffi.__version__,
            "headers": headers, "stage1": stats1,
            "upstream_rejected": len([x for x in dropped
                                      if x[0] != "poisoned"]),
            "base_lines": base_lines, "renamed_copies": copies,
            "corpora": {}}
    out = {}
    for label, nlines in sorted(sizes.items(), key=lambda kv: kv[1]):
        text = "".join(_cut(full, nlines))
        ffi = cffi.FFI()
        t1 = time.time()
        ffi.cdef(text)          # must be accepted, or this raises
        structs, typedefs = pick_names(ffi, text)
        p = ffi._parser
        info = {"lines": text.count("\n"), "bytes": len(text),
                "functions": sum(1 for k in p._declarations
                                 if k.startswith("function ")),
                "typedefs_total": sum(1 for k in p._declarations
                                      if k.startswith("typedef ")),
                "structs_unions": sum(1 for k in p._declarations
                                      if k.startswith(("struct ", "union "))),
                "int_constants": len(p._int_constants),
                "structs": structs, "typedefs": typedefs,
                "upstream_check_seconds": round(time.time() - t1, 2)}
        meta["corpora"][label] = info
        path = os.path.join(d, "corpus_%s.h" % label)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        out[label] = dict(info, text=text, path=path)
        log(verbose, "%s: %d lines, verified by upstream in %.1fs"
            % (label, info["lines"], time.time() - t1))
    with open(os.path.join(d, "rejected.txt"), "w") as f:
        for why, decl in dropped1 + dropped:
            f.write("/* %s */\n%s\n" % (why, decl))
    meta["generation_seconds"] = round(time.time() - t0, 1)
    with open(meta_path + ".tmp", "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(meta_path + ".tmp", meta_path)
    log(verbose, "done in %.0fs" % (time.time() - t0))
    return out


def check_rcffi(corpora, verbose=True):
    """Parse each corpus with rcffi; return {label: None or error text}."""
    from rcffi import FFI
    res = {}
    for label, info in corpora.items():
        ffi = FFI()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ffi.cdef(info["text"])
        except Exception as e:
            res[label] = "%s: %s" % (type(e).__name__, e)
            continue
        bad = []
        for s in info["structs"]:
            try:
                ffi.sizeof(s)
            except Exception as e:
                bad.append("sizeof(%r): %s: %s" % (s, type(e).__name__, e))
        for t in info["typedefs"]:
            try:
                ffi.typeof(t)
            except Exception as e:
                bad.append("typeof(%r): %s: %s" % (t, type(e).__name__, e))
        res[label] = "; ".join(bad) if bad else None
    return res


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true",
                    help="regenerate even if cached")
    ap.add_argument("--check-rcffi", action="store_true",
                    help="also parse each corpus with rcffi")
    ap.add_argument("--max-base-lines", type=int, default=None,
                    help="use only this many lines of headers (tests the "
                    "renamed-copies path)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    corpora = get_corpora(force=args.force, verbose=not args.quiet,
                          max_base_lines=args.max_base_lines)
    for label, info in corpora.items():
        print("%-4s %6d lines %8d bytes  %s" % (label, info["lines"],
                                              len(info["text"]), info["path"]))
    status = 0
    if args.check_rcffi:
        for label, err in check_rcffi(corpora).items():
            if err:
                status = 1
                print("rcffi REJECTS %s corpus (upstream accepts it): %s"
                      % (label, err[:2000]))
            else:
                print("rcffi accepts %s corpus" % label)
    return status


if __name__ == "__main__":
    sys.exit(main())
