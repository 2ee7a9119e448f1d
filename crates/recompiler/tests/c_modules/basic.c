#include <stdio.h>
#include <stdlib.h>
int add(int a, int b) { return a + b; }
long neg(long x) { return -x; }
double half(double d) { return d / 2; }
int sum(int *p, int n) { int s = 0; for (int i = 0; i < n; i++) s += p[i]; return s; }
char *greet(void) { return "hello"; }
void nothing(void) {}
#define FORTY_TWO 42
#define SECRET 1234
static const int NEG = -7;
static const double PI = 3.14;
int counter = 5;
int table[7] = {1,2,3,4,5,6,7};
typedef short myint_t;
myint_t twice(myint_t v) { return v * 2; }
struct point { int x; int y; };
struct partial { char a; int b; double c; };
typedef struct { double v; int tag; } anon_t;
enum color { RED, GREEN = 5, BLUE };
enum flags { F_Z = 0, F_A = 1, F_B = 2, F_C = 4 };
int dist2(struct point *p) { return p->x*p->x + p->y*p->y; }
struct point mkpoint(int x, int y) { struct point p = {x, y}; return p; }
enum color next_color(enum color c) { return c == RED ? GREEN : BLUE; }
