"""rcffi quickstart: C data from Python, no C compiler needed.

The "Struct/Array Example (minimal, in-line)" of the CFFI overview, plus a
call into the C library in ABI mode.  Run it with `bash scripts/quickstart.sh`
(or `python examples/quickstart.py` where rcffi is installed).
"""
import sys

from rcffi import FFI

try:
    ffi = FFI()
except NotImplementedError as e:       # the runtime of this build is missing
    sys.exit("quickstart: %s" % (e,))

# --- declare C types, in C syntax
ffi.cdef("""
    typedef struct {
        unsigned char r, g, b;
    } pixel_t;

    size_t strlen(const char *s);
""")

# --- an array of 800*600 pixels, zero-initialized, owned by Python
image = ffi.new("pixel_t[]", 800 * 600)
image[100].r = 255
image[100].g = 192
image[100].b = 128
print("sizeof(pixel_t) =", ffi.sizeof("pixel_t"))
print("image:", ffi.typeof(image), "with", len(image), "pixels,",
      ffi.sizeof(image), "bytes")
p = image[100]
print("pixel 100 = (%d, %d, %d)" % (p.r, p.g, p.b))
print("pixel 101 = (%d, %d, %d)" % (image[101].r, image[101].g, image[101].b))

# --- the raw bytes, e.g. to write the image to a file
raw = ffi.buffer(image)
print("bytes 300..303 of the buffer:", bytes(raw[300:303]))

# --- ABI mode: call a function of the C library, no compiler involved
C = ffi.dlopen(None)
print('strlen(b"hello, world") =', C.strlen(b"hello, world"))
