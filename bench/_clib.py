"""The tiny C library of the call and callback benchmarks, and its cdef.

The same C text is compiled three ways: as ``libbench-<hash>.so`` for the
ABI modes (in-line and out-of-line) and ctypes, and verbatim into the API-mode
extension modules (``set_source``).  The shared library lives in the bench
cache, keyed by a hash of the source.
"""
import hashlib
import os
import subprocess

C_SOURCE = r"""
#include <string.h>

struct point { int x; int y; };
typedef struct point point_t;

int add(int a, int b) { return a + b; }

/* six arguments of mixed kinds, a double result */
double mix6(int a, long b, double c, int *p, unsigned short d, const char *s)
{
    return a + b + c + (p ? *p : 0) + d + (s ? s[0] : 0);
}

double half(double x) { return x * 0.5; }

void nop(void) { }

/* n calls of a callback from a C loop */
int call_n(int (*cb)(int), int n)
{
    int i, total = 0;
    for (i = 0; i < n; i++)
        total += cb(i);
    return total;
}

int apply(int (*cb)(int, int), int a, int b) { return cb(a, b); }
"""

CDEF = """
struct point { int x; int y; };
typedef struct point point_t;
int add(int, int);
double mix6(int, long, double, int *, unsigned short, const char *);
double half(double);
void nop(void);
int call_n(int (*cb)(int), int n);
int apply(int (*cb)(int, int), int, int);
size_t strlen(const char *);
"""

# only in the API-mode module: a C function pointer that calls into Python
CDEF_API_EXTRA = """
extern "Python" int py_cb(int);
"""


def source_hash():
    h = hashlib.sha256()
    for part in (C_SOURCE, CDEF, CDEF_API_EXTRA):
        h.update(hashlib.sha256(part.encode()).digest())
    return h.hexdigest()[:12]


def libbench_path(cache):
    """Compile C_SOURCE into the cache (once); return the .so path."""
    d = os.path.join(cache, "lib")
    so = os.path.join(d, "libbench-%s.so" % source_hash())
    if os.path.exists(so):
        return so
    os.makedirs(d, exist_ok=True)
    src = so[:-3] + ".c"
    with open(src, "w") as f:
        f.write(C_SOURCE)
    tmp = so + ".tmp%d" % os.getpid()
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", src, "-o", tmp],
                   check=True, capture_output=True, text=True)
    os.replace(tmp, so)
    return so
