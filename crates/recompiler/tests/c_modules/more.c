#include <wchar.h>
#include <stddef.h>
typedef struct { int kind; union { int i; double d; }; } value_t;
struct bits { unsigned a : 3; unsigned b : 5; int c; };
struct arr { int n; char name[12]; int vals[4]; };
struct opaque_s { int v; };
typedef struct opaque_s *handle_t;
typedef struct { int x; } *pt_ptr;
typedef int (*cb_t)(int);
static struct opaque_s the_handle;
handle_t make_handle(int v) { the_handle.v = v; return &the_handle; }
int handle_value(handle_t h) { return h->v; }
int apply(cb_t f, int v) { return f(v); }
int twice_cb(int v) { return 2 * v; }
char upper(char c) { return c - 32; }
_Bool is_even(int v) { return v % 2 == 0; }
float fsq(float f) { return f * f; }
wchar_t wid(wchar_t w) { return w + 1; }
unsigned long long big(void) { return 18446744073709551615ULL; }
signed char sc(signed char c) { return -c; }
value_t mkval(double d) { value_t v; v.kind = 2; v.d = d; return v; }
double val_d(value_t *v) { return v->d; }
char message[] = "hi there";
const int limits[3] = {7, 8, 9};
union num { int i; float f; };
enum { ANON_A = 10, ANON_B };
typedef enum { T_X = -1, T_Y = 1 } tenum_t;
tenum_t tflip(tenum_t t) { return t == T_X ? T_Y : T_X; }
size_t count_bits(struct bits *b) { return b->a + b->b; }
