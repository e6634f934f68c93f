/*
 * The kernels, written once over a vector type of L2K_W doubles (clang vector extensions) and
 * compiled once per instruction set (kernels_avx2.c, kernels_avx512.c, kernels_portable.c).
 * Include only from those files, after defining L2K_W and L2K_SUFFIX.
 *
 * Rules that keep every path bit-identical:
 * - no FP contraction (pragma below); fused multiply-adds only where written as vfma();
 * - every lane runs the same operations; partial vectors are padded and their lanes dropped;
 * - sums across a row go to 16 partial sums indexed by (element index mod 16), then a fixed tree.
 */
#pragma clang fp contract(off)
/* Wide vectors (two registers per operation on AVX-512, for instruction-level parallelism) are
 * never passed across a call (everything is always_inline), so the ABI note does not apply. */
#pragma clang diagnostic ignored "-Wpsabi"

#include <stdint.h>
#include <string.h>
#include "l2hmc_kernels.h"

#define W L2K_W
#define L2K_CAT2(a, b) a##b
#define L2K_CAT(a, b) L2K_CAT2(a, b)
#define FN(name) L2K_CAT(name, L2K_SUFFIX)

typedef double VD __attribute__((ext_vector_type(L2K_W)));
typedef long VL __attribute__((ext_vector_type(L2K_W)));
typedef unsigned long VU __attribute__((ext_vector_type(L2K_W)));

#define SIGN_BIT ((long)INT64_MIN)
#define ABS_MASK ((long)INT64_MAX)

static inline __attribute__((always_inline)) VD ld(const double *p) { VD v; memcpy(&v, p, sizeof v); return v; }
static inline __attribute__((always_inline)) void st(double *p, VD v) { memcpy(p, &v, sizeof v); }
/* Partial vectors (k < W lanes valid) go through small arrays: element inserts at a variable
 * lane index would spill the whole vector for every lane. */
static inline __attribute__((always_inline)) VD ldk(const double *p, long k, double pad) {
    double t[L2K_W];
    for (long j = 0; j < L2K_W; j++) t[j] = j < k ? p[j] : pad;
    return ld(t);
}
static inline __attribute__((always_inline)) void stk(double *p, VD v, long k) {
    double t[L2K_W];
    st(t, v);
    for (long j = 0; j < k; j++) p[j] = t[j];
}
static inline __attribute__((always_inline)) VD gather(const double *p, const int32_t *idx, long k, double pad) {
    double t[L2K_W];
    for (long j = 0; j < L2K_W; j++) t[j] = j < k ? p[idx[j]] : pad;
    return ld(t);
}
static inline __attribute__((always_inline)) void scatter(double *p, const int32_t *idx, VD v, long k) {
    double t[L2K_W];
    st(t, v);
    for (long j = 0; j < k; j++) p[idx[j]] = t[j];
}
/* Full-width versions (constant trip counts, so the lane loops unroll into register moves). */
static inline __attribute__((always_inline)) VD gatherW(const double *p, const int32_t *idx) {
    double t[L2K_W];
    for (int j = 0; j < L2K_W; j++) t[j] = p[idx[j]];
    return ld(t);
}
static inline __attribute__((always_inline)) void scatterW(double *p, const int32_t *idx, VD v) {
    double t[L2K_W];
    st(t, v);
    for (int j = 0; j < L2K_W; j++) p[idx[j]] = t[j];
}

static inline __attribute__((always_inline)) VD vfma(VD a, VD b, VD c) { return __builtin_elementwise_fma(a, b, c); }
static inline __attribute__((always_inline)) VD vabs(VD x) { return (VD)((VL)x & ABS_MASK); }
static inline __attribute__((always_inline)) VD vcopysign(VD mag, VD sgn) { return (VD)(((VL)mag & ABS_MASK) | ((VL)sgn & SIGN_BIT)); }
static inline __attribute__((always_inline)) VD vsel(VL m, VD a, VD b) { return m ? a : b; }
static inline __attribute__((always_inline)) VD vfloor(VD x) { return __builtin_elementwise_floor(x); }
/* Lanes >= k set to zero. */
static inline __attribute__((always_inline)) VD vkeep(VD x, long k) {
    if (k >= W) return x;
    double t[L2K_W];
    st(t, x);
    for (long j = k; j < L2K_W; j++) t[j] = 0;
    return ld(t);
}

/* Sixteen partial sums by element index mod 16 (16 / W vectors; W in {2, 4, 8, 16}), then a
 * fixed tree: the same order of additions whatever W. */
#if L2K_W > 16
#error "L2K_W must divide 16"
#endif
#define NPART (16 / L2K_W)
typedef struct { VD part[NPART]; } Sum8;
static inline __attribute__((always_inline)) Sum8 sum8_zero(void) { Sum8 s; for (int i = 0; i < NPART; i++) s.part[i] = 0; return s; }
/* Adds the chunk starting at element j (a multiple of W). */
static inline __attribute__((always_inline)) void sum8_add(Sum8 *s, VD x, long j) { s->part[(j / L2K_W) % NPART] += x; }
static inline __attribute__((always_inline)) double sum8_total(Sum8 s) {
    double p[16];
    memcpy(p, s.part, sizeof p);
    double q[8];
    for (int i = 0; i < 8; i++) q[i] = p[i] + p[i + 8];
    return ((q[0] + q[4]) + (q[2] + q[6])) + ((q[1] + q[5]) + (q[3] + q[7]));
}

/* ---------------------------------------------------------------------------------------- */
/* Elementary functions                                                                     */

static const double MAGIC = 0x1.8p52;            /* adding it rounds to an integer in the low bits */
static const long MAGIC_BITS = 0x4338000000000000L;
static const double LOG2E = 0x1.71547652b82fep+0;
static const double LN2_HI = 0x1.62e42fefa39efp-1, LN2_LO = 0x1.abc9e3b39803fp-56;
static const double PIO2_1 = 0x1.921fb54442d18p+0, PIO2_2 = 0x1.1a62633145c07p-54, PIO2_3 = -0x1.f1976b7ed8fbcp-110;
static const double TWO_OVER_PI = 0x1.45f306dc9c883p-1;
static const double PI = 0x1.921fb54442d18p+1;
static const double TWO_PI = 0x1.921fb54442d18p+2;
static const double PIO8_HI = 0x1.921fb54442d18p-2, PIO8_LO = 0x1.1a62633145c07p-56;
static const double TANPIO8_HI = 0x1.a827999fcef32p-2, TANPIO8_LO = 0x1.08b2fb1366ea9p-56;
static const double TANPIO16 = 0.198912367379658, TAN3PIO16 = 0.6681786379192989;

/* e^r - 1 - r for |r| <= ln2/2 as r^2 h(r): h is a degree-10 near-minimax polynomial (Chebyshev
 * fit in 60-digit arithmetic, |error| < 1.4e-18 against h ~ 1/2, i.e. far below one ulp). */
static inline __attribute__((always_inline)) VD expm1_tail(VD r) {
    VD h = 0x1.1f72fc848c527p-29;
    h = vfma(h, r, (VD)0x1.af4ddda32bea9p-26);
    h = vfma(h, r, (VD)0x1.27e4db67abc75p-22);
    h = vfma(h, r, (VD)0x1.71de0237479e4p-19);
    h = vfma(h, r, (VD)0x1.a01a01a6d7833p-16);
    h = vfma(h, r, (VD)0x1.a01a01abe6327p-13);
    h = vfma(h, r, (VD)0x1.6c16c16c162d6p-10);
    h = vfma(h, r, (VD)0x1.11111111100dfp-7);
    h = vfma(h, r, (VD)0x1.5555555555556p-5);
    h = vfma(h, r, (VD)0x1.5555555555557p-3);
    h = vfma(h, r, (VD)0x1.0000000000000p-1);
    return h;   /* expm1(r) = r + r^2 h */
}

/* 2^k for integer k in [-1022, 1023] given as VL. */
static inline __attribute__((always_inline)) VD pow2i(VL k) { return (VD)((VU)(k + 1023) << 52); }

/* e^x for |x| <= 708 (one scaling by 2^k); the caller handles the rest. */
static inline __attribute__((always_inline)) VD exp_core(VD x) {
    VD t = vfma(x, (VD)LOG2E, (VD)MAGIC);
    VD kd = t - MAGIC;
    VD r = vfma(kd, (VD)-LN2_HI, x);
    r = vfma(kd, (VD)-LN2_LO, r);
    VD p = vfma(r * r, expm1_tail(r), r) + 1.0;
    return p * pow2i((VL)t - MAGIC_BITS);
}

/* e^x on the whole line: overflow to inf, gradual underflow to 0, NaN propagated. The usual
 * case (every lane within |x| <= 708) takes exp_core; the general path scales by 2^k in two
 * exact steps, which gives the same bits wherever both apply. */
static inline __attribute__((always_inline)) VD v_exp(VD x) {
    VL out = vabs(x) > 708.0;
    int any = 0;
    for (int j = 0; j < L2K_W; j++) any |= out[j] != 0;
    if (__builtin_expect(!any, 1)) return exp_core(x);
    VD xc = vsel(x > 709.8, (VD)709.8, x);
    xc = vsel(xc < -745.2, (VD)-745.2, xc);
    VD t = vfma(xc, (VD)LOG2E, (VD)MAGIC);
    VD kd = t - MAGIC;
    VD r = vfma(kd, (VD)-LN2_HI, xc);
    r = vfma(kd, (VD)-LN2_LO, r);
    VD p = vfma(r * r, expm1_tail(r), r) + 1.0;
    VL k = (VL)t - MAGIC_BITS;
    VL k1 = ((k + 2048) >> 1) - 1024;
    VL k2 = k - k1;
    VD y = (p * pow2i(k1)) * pow2i(k2);
    y = vsel(x > 709.782712893384, (VD)__builtin_inf(), y);
    y = vsel(x < -745.1332191019412, (VD)0.0, y);
    return y;
}

/* tanh(y) = sign(y) u / (u + 2), u = expm1(2|y|) (|y| clamped at 20, where tanh is 1 in double). */
static inline __attribute__((always_inline)) VD v_tanh(VD y) {
    VD a = vabs(y);
    a = vsel(a > 20.0, (VD)20.0, a);
    VD z = a + a;
    VD t = vfma(z, (VD)LOG2E, (VD)MAGIC);
    VD kd = t - MAGIC;
    VD r = vfma(kd, (VD)-LN2_HI, z);
    r = vfma(kd, (VD)-LN2_LO, r);
    VD p = vfma(r * r, expm1_tail(r), r);             /* expm1(r) */
    VL k = (VL)t - MAGIC_BITS;                        /* 0 <= k <= 58 */
    VD two_k = pow2i(k);
    VD u = vfma(two_k, p, two_k - 1.0);               /* expm1(z) = 2^k expm1(r) + 2^k - 1 */
    return vcopysign(u / (u + 2.0), y);
}

/* sin and cos: x = q pi/2 + r (three-part pi/2 with fma), |r| <= pi/4, polynomials of degree 15 / 14.
 * Accurate for |x| up to about 2^20 (the angles here are below 4 pi + a few step sizes). */
static inline __attribute__((always_inline)) void v_sincos(VD x, VD *s, VD *c) {
    VD t = vfma(x, (VD)TWO_OVER_PI, (VD)MAGIC);
    VD q = t - MAGIC;
    VD r = vfma(q, (VD)-PIO2_1, x);
    r = vfma(q, (VD)-PIO2_2, r);
    r = vfma(q, (VD)-PIO2_3, r);
    VL qi = (VL)t;                                    /* low bits = q mod 4 */
    VD z = r * r;
    /* Near-minimax polynomials in z = r^2 (Chebyshev fits, |error| < 2e-19 relative). */
    VD ps = -0x1.ab17d3cbfa665p-41;
    ps = vfma(ps, z, (VD)0x1.61217f0b1f8aep-33);
    ps = vfma(ps, z, (VD)-0x1.ae645412c4e6fp-26);
    ps = vfma(ps, z, (VD)0x1.71de3a5460956p-19);
    ps = vfma(ps, z, (VD)-0x1.a01a01a019938p-13);
    ps = vfma(ps, z, (VD)0x1.1111111111110p-7);
    ps = vfma(ps, z, (VD)-0x1.5555555555555p-3);
    VD sr = vfma(r * z, ps, r);
    VD pc = -0x1.8ff9d3fd3dc5fp-37;
    pc = vfma(pc, z, (VD)0x1.1eea7f2534c14p-29);
    pc = vfma(pc, z, (VD)-0x1.27e4f8e4a2660p-22);
    pc = vfma(pc, z, (VD)0x1.a01a019de1315p-16);
    pc = vfma(pc, z, (VD)-0x1.6c16c16c15d79p-10);
    pc = vfma(pc, z, (VD)0x1.5555555555551p-5);
    pc = vfma(pc, z, (VD)-0x1.0000000000000p-1);
    VD cr = vfma(z, pc, (VD)1.0);
    VL swap = (qi & 1) != 0;
    VD ss = vsel(swap, cr, sr), cc = vsel(swap, sr, cr);
    VU qu = (VU)qi;
    *s = vsel(x == 0.0, x, (VD)((VU)ss ^ ((qu & 2) << 62)));   /* sin(-0) = -0 */
    *c = (VD)((VU)cc ^ (((qu + 1) & 2) << 62));
}

/* atan(u) for |u| <= tan(pi/16) (+ rounding): u + u^3 a(u^2), a a degree-8 near-minimax
 * polynomial (Chebyshev fit, |error| < 1e-19). */
static inline __attribute__((always_inline)) VD atan_small(VD u) {
    VD z = u * u;
    VD p = -0x1.6fd48243defd5p-5;
    p = vfma(p, z, (VD)0x1.dd540fa28a418p-5);
    p = vfma(p, z, (VD)-0x1.10fa1939f065dp-4);
    p = vfma(p, z, (VD)0x1.3b13295372aafp-4);
    p = vfma(p, z, (VD)-0x1.745d156bdf381p-4);
    p = vfma(p, z, (VD)0x1.c71c71c37a2c1p-4);
    p = vfma(p, z, (VD)-0x1.24924924907f3p-3);
    p = vfma(p, z, (VD)0x1.999999999998fp-3);
    p = vfma(p, z, (VD)-0x1.5555555555555p-2);
    return vfma(u * z, p, u);
}

/* atan2(y, x): reduce to t = min/max in [0, 1], then atan(t) = j pi/8 + atan(u) with
 * u = (t - c_j)/(1 + t c_j), c_j = tan(j pi/8), j = 0, 1, 2 (|u| <= tan(pi/16)), computed in one
 * division as (num - c den)/(den + c num); the octant is folded into a multiple of pi/8. */
static inline __attribute__((always_inline)) VD v_atan2(VD y, VD x) {
    VD ax = vabs(x), ay = vabs(y);
    VL swap = ay > ax;
    VD num = vsel(swap, ax, ay), den = vsel(swap, ay, ax);
    VL j1 = num > den * TANPIO16, j2 = num > den * TAN3PIO16;
    VD chi = vsel(j2, (VD)1.0, vsel(j1, (VD)TANPIO8_HI, (VD)0.0));
    VD clo = vsel(j2, (VD)0.0, vsel(j1, (VD)TANPIO8_LO, (VD)0.0));
    VD nn = vfma(-chi, den, num);
    nn = vfma(-clo, den, nn);
    VD dd = vfma(chi, num, den);
    dd = vfma(clo, num, dd);
    VD u = nn / dd;
    u = vsel(dd == 0.0, (VD)0.0, u);
    VD at = atan_small(u);
    VD jd = vsel(j2, (VD)2.0, vsel(j1, (VD)1.0, (VD)0.0));
    VD base = vsel(swap, 4.0 - jd, jd);
    at = vsel(swap, -at, at);
    VL xneg = ((VL)x & SIGN_BIT) != 0;
    base = vsel(xneg, 8.0 - base, base);
    at = vsel(xneg, -at, at);
    VD res = vfma(base, (VD)PIO8_HI, vfma(base, (VD)PIO8_LO, at));
    return vcopysign(res, y);
}

/* log(x) = k ln2 + log(1 + f), 1 + f in [sqrt(1/2), sqrt(2)), log(1 + f) = f - (hfsq - s (hfsq + R)),
 * s = f/(2 + f), R = z p(z) ~ sum_i 2 s^{2i}/(2i + 1), z = s^2 (the fdlibm arrangement; p is a degree-8
 * near-minimax polynomial). */
static inline __attribute__((always_inline)) VD v_log(VD x) {
    VL sub = x < 0x1p-1022;
    VD xs = vsel(sub, x * 0x1p54, x);
    VL bits = (VL)xs;
    VL e = ((bits >> 52) & 0x7ff) - 1023;
    VD m = (VD)((bits & 0x000fffffffffffffL) | 0x3ff0000000000000L);
    VL big = m > 0x1.6a09e667f3bcdp+0;
    m = vsel(big, m * 0.5, m);
    e = e - big;                                       /* big is -1 where true */
    e = e - (sub & 54);
    VD dk = (VD)(e + MAGIC_BITS) - MAGIC;
    VD f = m - 1.0;
    VD s = f / (f + 2.0);
    VD z = s * s;
    VD p = 0x1.e6afc94796c4ap-4;                      /* near-minimax, |error| < 2e-20 */
    p = vfma(p, z, (VD)0x1.debedb914cf77p-4);
    p = vfma(p, z, (VD)0x1.111d273f1ed7cp-3);
    p = vfma(p, z, (VD)0x1.3b137b3470aafp-3);
    p = vfma(p, z, (VD)0x1.745d17d353584p-3);
    p = vfma(p, z, (VD)0x1.c71c71c64c8c7p-3);
    p = vfma(p, z, (VD)0x1.2492492492959p-2);
    p = vfma(p, z, (VD)0x1.9999999999998p-2);
    p = vfma(p, z, (VD)0x1.5555555555555p-1);
    VD R = z * p;
    VD hfsq = 0.5 * f * f;
    const double ln2hi = 0x1.62e42feep-1, ln2lo = 0x1.a39ef35793c76p-33;   /* dk * ln2hi is exact */
    VD res = dk * ln2hi - ((hfsq - (s * (hfsq + R) + dk * ln2lo)) - f);
    res = vsel(x == 0.0, (VD)-__builtin_inf(), res);
    res = vsel(x < 0.0, (VD)__builtin_nan(""), res);
    res = vsel(x == __builtin_inf(), (VD)__builtin_inf(), res);
    res = vsel(x != x, x, res);
    return res;
}

/* wrap(phi) in [-pi, pi): the operations of Angles.wrap. */
static inline __attribute__((always_inline)) VD v_wrap(VD phi) {
    VD k = vfloor((phi + PI) / TWO_PI);
    VD r = phi - TWO_PI * k;
    r = vsel(r < -PI, r + TWO_PI, r);
    r = vsel(r >= PI, r - TWO_PI, r);
    r = vsel(r >= PI, (VD)-PI, r);
    return r;
}

static inline __attribute__((always_inline)) VD act(VD v, int a) {
    switch (a) {
    case L2K_RELU: return vsel(v < 0.0, (VD)0.0, v);
    case L2K_TANH: return v_tanh(v);
    case L2K_SWISH: return v / (1.0 + v_exp(-v));
    case L2K_LEAKY_RELU: return vsel(v < 0.0, 0.01 * v, v);   /* -0.0 and NaN pass through */
    default: return v;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Exported kernels                                                                          */

void FN(l2k_exp)(const double *x, double *y, long n) {
    long i = 0;
    for (; i + W <= n; i += W) st(y + i, v_exp(ld(x + i)));
    if (i < n) stk(y + i, v_exp(ldk(x + i, n - i, 0)), n - i);
}

void FN(l2k_tanh)(const double *x, double *y, long n) {
    long i = 0;
    for (; i + W <= n; i += W) st(y + i, v_tanh(ld(x + i)));
    if (i < n) stk(y + i, v_tanh(ldk(x + i, n - i, 0)), n - i);
}

void FN(l2k_log)(const double *x, double *y, long n) {
    long i = 0;
    for (; i + W <= n; i += W) st(y + i, v_log(ld(x + i)));
    if (i < n) stk(y + i, v_log(ldk(x + i, n - i, 1)), n - i);
}

void FN(l2k_sincos)(const double *x, double *s, double *c, long n) {
    long i = 0;
    VD vs, vc;
    for (; i + W <= n; i += W) { v_sincos(ld(x + i), &vs, &vc); st(s + i, vs); st(c + i, vc); }
    if (i < n) { v_sincos(ldk(x + i, n - i, 0), &vs, &vc); stk(s + i, vs, n - i); stk(c + i, vc, n - i); }
}

void FN(l2k_atan2)(const double *y, const double *x, double *out, long n) {
    long i = 0;
    for (; i + W <= n; i += W) st(out + i, v_atan2(ld(y + i), ld(x + i)));
    if (i < n) stk(out + i, v_atan2(ldk(y + i, n - i, 0), ldk(x + i, n - i, 1)), n - i);
}

void FN(l2k_wrap)(const double *x, double *y, long n) {
    long i = 0;
    for (; i + W <= n; i += W) st(y + i, v_wrap(ld(x + i)));
    if (i < n) stk(y + i, v_wrap(ldk(x + i, n - i, 0)), n - i);
}

void FN(l2k_drift_wrapped)(double *x, const double *v, double eps, long n) {
    long i = 0;
    for (; i + W <= n; i += W) st(x + i, v_wrap(ld(x + i) + eps * ld(v + i)));
    if (i < n) stk(x + i, v_wrap(ldk(x + i, n - i, 0) + eps * ldk(v + i, n - i, 0)), n - i);
}

void FN(l2k_bias_activate)(double *a, long rows, long cols, const double *row, int ac) {
    for (long r = 0; r < rows; r++) {
        double *p = a + r * cols;
        long i = 0;
        for (; i + W <= cols; i += W) st(p + i, act(ld(p + i) + ld(row + i), ac));
        if (i < cols) stk(p + i, act(ldk(p + i, cols - i, 0) + ldk(row + i, cols - i, 0), ac), cols - i);
    }
}

void FN(l2k_small_input_layer)(const double *in1, long ld1, long k1, const double *w1,
                               const double *in2, long ld2, long k2, const double *w2,
                               long rows, long cols, const double *row, int ac, double *h) {
    for (long r = 0; r < rows; r++) {
        const double *x1 = in1 + r * ld1, *x2 = in2 + r * ld2;
        double *out = h + r * cols;
        long i = 0;
        for (; i < cols; i += W) {
            long k = cols - i < W ? cols - i : W;
            VD acc = 0;
            for (long j = 0; j < k1; j++) acc = vfma((VD)x1[j], k == W ? ld(w1 + j * cols + i) : ldk(w1 + j * cols + i, k, 0), acc);
            for (long j = 0; j < k2; j++) acc = vfma((VD)x2[j], k == W ? ld(w2 + j * cols + i) : ldk(w2 + j * cols + i, k, 0), acc);
            VD b = k == W ? ld(row + i) : ldk(row + i, k, 0);
            VD y = act(acc + b, ac);
            if (k == W) st(out + i, y); else stk(out + i, y, k);
        }
    }
}

void FN(l2k_heads)(double *out, long rows, long n, const double *bias, const double *sf, const double *tf,
                   double ws, double wt, double wq) {
    for (long r = 0; r < rows; r++) {
        double *s = out + r * 3 * n, *t = s + n, *q = t + n;
        for (long i = 0; i < n; i += W) {
            long k = n - i < W ? n - i : W;
            VD S = ws * v_tanh(ldk(s + i, k, 0) + ldk(bias + i, k, 0)) * ldk(sf + i, k, 1);
            VD T = wt * (ldk(t + i, k, 0) + ldk(bias + n + i, k, 0));
            VD Q = wq * v_tanh(ldk(q + i, k, 0) + ldk(bias + 2 * n + i, k, 0)) * ldk(tf + i, k, 1);
            stk(s + i, S, k); stk(t + i, T, k); stk(q + i, Q, k);
        }
    }
}

/* Raw head outputs (before bias) of links i .. i + W - 1 of one row: loaded from raw (S at s,
 * T at s + n, Q at s + 2n), or, with factored heads, the rank-r products z Q_h computed here
 * (z: the row's [3r] factors z_S | z_T | z_Q; q_h: the second factor in panels of 16 columns,
 * column c, rank index k at q_h[(c / 16) 16 r + 16 k + c % 16], so every load is contiguous and
 * the r rows of a panel do not alias in the cache). */
typedef struct { const double *z; long rank; const double *qs, *qt, *qq; } Factored;
#define PANEL 16

static inline __attribute__((always_inline)) void heads_full(const double *s, long n, const Factored *fz, long c,
                                                             VD *S, VD *T, VD *Q) {
    if (!fz->z) { *S = ld(s); *T = ld(s + n); *Q = ld(s + 2 * n); return; }
    const long r = fz->rank, o = (c / PANEL) * PANEL * r + c % PANEL;
    const double *zs = fz->z, *zt = zs + r, *zq = zt + r, *ps = fz->qs + o, *pt = fz->qt + o, *pq = fz->qq + o;
    VD a = 0, b = 0, d = 0;
    for (long k = 0; k < r; k++) {
        a = vfma((VD)zs[k], ld(ps + PANEL * k), a);
        b = vfma((VD)zt[k], ld(pt + PANEL * k), b);
        d = vfma((VD)zq[k], ld(pq + PANEL * k), d);
    }
    *S = a; *T = b; *Q = d;
}

/* Partial chunk (k < W lanes). Panels are zero-padded to whole panels, so full loads are safe. */
static inline __attribute__((always_inline)) void heads_part(const double *s, long n, const Factored *fz, long c, long k,
                                                             VD *S, VD *T, VD *Q) {
    if (!fz->z) { *S = ldk(s, k, 0); *T = ldk(s + n, k, 0); *Q = ldk(s + 2 * n, k, 0); return; }
    heads_full(s, n, fz, c, S, T, Q);
}

void FN(l2k_v_update)(const double *raw, const double *z, long ldz, long rank, const double *qs, const double *qt, const double *qq,
                      long rows, long n, const double *bias, const double *sf, const double *tf,
                      double ws, double wt, double wq, double eps, double sigma, const double *force,
                      double *v, double *logdet, int inverse) {
    const double half = 0.5 * eps;
    for (long r = 0; r < rows; r++) {
        const double *s = raw ? raw + r * 3 * n : 0, *f = force + r * n;
        Factored fz = { z ? z + r * ldz : 0, rank, qs, qt, qq };
        double *vr = v + r * n;
        Sum8 acc = sum8_zero();
        long i = 0;
        for (; i + W <= n; i += W) {
            VD rs, rt, rq;
            heads_full(s ? s + i : 0, n, &fz, i, &rs, &rt, &rq);
            VD S = ws * v_tanh(rs + ld(bias + i)) * ld(sf + i);
            VD T = wt * (rt + ld(bias + n + i));
            VD Q = wq * v_tanh(rq + ld(bias + 2 * n + i)) * ld(tf + i);
            VD drive = ld(f + i) * v_exp(eps * Q) + sigma * T;
            VD vi = ld(vr + i);
            VD vn = inverse ? (vi + half * drive) * v_exp(-half * S) : vi * v_exp(half * S) - half * drive;
            st(vr + i, vn);
            sum8_add(&acc, S, i);
        }
        if (i < n) {
            long k = n - i;
            VD rs, rt, rq;
            heads_part(s ? s + i : 0, n, &fz, i, k, &rs, &rt, &rq);
            VD S = ws * v_tanh(rs + ldk(bias + i, k, 0)) * ldk(sf + i, k, 1);
            VD T = wt * (rt + ldk(bias + n + i, k, 0));
            VD Q = wq * v_tanh(rq + ldk(bias + 2 * n + i, k, 0)) * ldk(tf + i, k, 1);
            VD drive = ldk(f + i, k, 0) * v_exp(eps * Q) + sigma * T;
            VD vi = ldk(vr + i, k, 0);
            VD vn = inverse ? (vi + half * drive) * v_exp(-half * S) : vi * v_exp(half * S) - half * drive;
            stk(vr + i, vn, k);
            sum8_add(&acc, vkeep(S, k), i);
        }
        double sum = sum8_total(acc);
        if (inverse) logdet[r] -= half * sum; else logdet[r] += half * sum;
    }
}

/* One chunk of the x update: k lanes valid. */
static inline __attribute__((always_inline)) VD x_chunk(VD rs, VD rt, VD rq, VD bs, VD bt, VD bq, VD fs, VD fq, double ws, double wt, double wq,
                         double eps, int form, int inverse, VD xv, VD vv, VD *logj) {
    VD S = ws * v_tanh(rs + bs) * fs;
    VD T = wt * (rt + bt);
    VD Q = wq * v_tanh(rq + bq) * fq;
    VD b = eps * (vv * v_exp(eps * Q) + T);
    VD es = eps * S;
    if (form == L2K_X_NCP) {
        if (inverse) {
            VD w = v_wrap(xv - b);
            VD sn, cs;
            v_sincos(0.5 * w, &sn, &cs);
            VD a = v_exp(-es);
            *logj = es + v_log(cs * cs + a * a * sn * sn);
            return 2.0 * v_atan2(a * sn, cs);
        } else {
            VD sn, cs;
            v_sincos(0.5 * xv, &sn, &cs);
            VD a = v_exp(es);
            *logj = es - v_log(cs * cs + a * a * sn * sn);
            return v_wrap(2.0 * v_atan2(a * sn, cs) + b);
        }
    }
    *logj = es;
    VD y = inverse ? (xv - b) * v_exp(-es) : xv * v_exp(es) + b;
    return form == L2K_X_LINEAR_WRAPPED ? v_wrap(y) : y;
}

void FN(l2k_x_update)(const double *raw, const double *z, long ldz, long rank, const double *qs, const double *qt, const double *qq,
                      long rows, long n, long off, long m, const int32_t *idx,
                      const double *bias, const double *sf, const double *tf, double ws, double wt, double wq,
                      double eps, int form, int inverse, double *x, const double *v, double *logdet, double *trig) {
    const double *bs = bias + off, *bt = bias + n + off, *bq = bias + 2 * n + off, *fs = sf + off, *fq = tf + off;
    for (long r = 0; r < rows; r++) {
        const double *s = raw ? raw + r * 3 * n + off : 0, *vr = v + r * n;
        Factored fz = { z ? z + r * ldz : 0, rank, qs, qt, qq };
        double *xr = x + r * n;
        double *tc = trig ? trig + r * 2 * n : 0;
        Sum8 acc = sum8_zero();
        long j = 0;
        for (; j + W <= m; j += W) {
            const int32_t *ix = idx + j;
            VD rs, rt, rq, lj;
            heads_full(s ? s + j : 0, n, &fz, j, &rs, &rt, &rq);
            VD xn = x_chunk(rs, rt, rq, ld(bs + j), ld(bt + j), ld(bq + j), ld(fs + j), ld(fq + j),
                            ws, wt, wq, eps, form, inverse, gatherW(xr, ix), gatherW(vr, ix), &lj);
            scatterW(xr, ix, xn);
            if (tc) {
                VD sn, cs;
                v_sincos(xn, &sn, &cs);
                scatterW(tc, ix, cs);
                scatterW(tc + n, ix, sn);
            }
            sum8_add(&acc, lj, j);
        }
        if (j < m) {
            long k = m - j;
            const int32_t *ix = idx + j;
            VD rs, rt, rq, lj;
            heads_part(s ? s + j : 0, n, &fz, j, k, &rs, &rt, &rq);
            VD xn = x_chunk(rs, rt, rq, ldk(bs + j, k, 0), ldk(bt + j, k, 0),
                            ldk(bq + j, k, 0), ldk(fs + j, k, 1), ldk(fq + j, k, 1), ws, wt, wq, eps, form, inverse,
                            gather(xr, ix, k, 0), gather(vr, ix, k, 0), &lj);
            scatter(xr, ix, xn, k);
            if (tc) {
                VD sn, cs;
                v_sincos(xn, &sn, &cs);
                scatter(tc, ix, cs, k);
                scatter(tc + n, ix, sn, k);
            }
            sum8_add(&acc, vkeep(lj, k), j);
        }
        double sum = sum8_total(acc);
        if (inverse) logdet[r] -= sum; else logdet[r] += sum;
    }
}

void FN(l2k_sincos_blocks)(const double *x, long rows, long n, double *trig) {
    for (long r = 0; r < rows; r++) {
        const double *xr = x + r * n;
        double *c = trig + r * 2 * n, *s = c + n;
        long i = 0;
        VD vs, vc;
        for (; i + W <= n; i += W) { v_sincos(ld(xr + i), &vs, &vc); st(c + i, vc); st(s + i, vs); }
        if (i < n) { v_sincos(ldk(xr + i, n - i, 0), &vs, &vc); stk(c + i, vc, n - i); stk(s + i, vs, n - i); }
    }
}

void FN(l2k_encode)(const double *x, const double *trig, long rows, long n, const double *read,
                    int encoding, int before, double *out) {
    for (long r = 0; r < rows; r++) {
        const double *xr = x + r * n;
        const double *c = trig ? trig + r * 2 * n : 0, *s = c ? c + n : 0;
        if (encoding == L2K_ENC_RAW) {
            double *o = out + r * n;
            if (read) { for (long i = 0; i < n; i++) o[i] = read[i] * xr[i]; }
            else memcpy(o, xr, (size_t)n * sizeof(double));
            continue;
        }
        double *o = out + r * 2 * n;
        if (encoding == L2K_ENC_BLOCKS) {
            if (!read) { memcpy(o, c, (size_t)(2 * n) * sizeof(double)); continue; }
            if (before) {
                for (long i = 0; i < n; i++) { int on = read[i] != 0; o[i] = on ? c[i] : 1.0; o[n + i] = on ? s[i] : 0.0; }
            } else {
                for (long i = 0; i < n; i++) { o[i] = read[i] * c[i]; o[n + i] = read[i] * s[i]; }
            }
        } else {
            if (!read) { for (long i = 0; i < n; i++) { o[2 * i] = c[i]; o[2 * i + 1] = s[i]; } continue; }
            if (before) {
                for (long i = 0; i < n; i++) { int on = read[i] != 0; o[2 * i] = on ? c[i] : 1.0; o[2 * i + 1] = on ? s[i] : 0.0; }
            } else {
                for (long i = 0; i < n; i++) { o[2 * i] = read[i] * c[i]; o[2 * i + 1] = read[i] * s[i]; }
            }
        }
    }
}

/* phi for plaquettes p .. p + k - 1 of one row (k <= W; lanes past k are 0). */
static inline __attribute__((always_inline)) VD plaquettes(const double *xr, const int32_t *plaq, long p, long k) {
    double a[L2K_W], b[L2K_W], c[L2K_W], d[L2K_W];
    if (k == W) {
        for (int j = 0; j < L2K_W; j++) {
            const int32_t *l = plaq + 4 * (p + j);
            a[j] = xr[l[0]]; b[j] = xr[l[1]]; c[j] = xr[l[2]]; d[j] = xr[l[3]];
        }
    } else {
        for (int j = 0; j < L2K_W; j++) {
            if (j < k) {
                const int32_t *l = plaq + 4 * (p + j);
                a[j] = xr[l[0]]; b[j] = xr[l[1]]; c[j] = xr[l[2]]; d[j] = xr[l[3]];
            } else {
                a[j] = b[j] = c[j] = d[j] = 0;
            }
        }
    }
    return ((ld(a) + ld(b)) - ld(c)) - ld(d);
}

void FN(l2k_u1_force)(const double *x, long rows, long n, const int32_t *plaq, long V, double beta,
                      const int32_t *plus, const int32_t *minus, double *scratch, double *out) {
    for (long r = 0; r < rows; r++) {
        const double *xr = x + r * n;
        double *f = out + r * n;
        for (long p = 0; p < V; p += W) {
            long k = V - p < W ? V - p : W;
            VD sn, cs;
            v_sincos(plaquettes(xr, plaq, p, k), &sn, &cs);
            stk(scratch + p, beta * sn, k);
        }
        if (plus) {
            for (long l = 0; l < n; l++) f[l] = scratch[plus[l]] - scratch[minus[l]];
        } else {
            for (long l = 0; l < n; l++) f[l] = 0;
            for (long p = 0; p < V; p++) {
                const int32_t *l = plaq + 4 * p;
                double s = scratch[p];
                f[l[0]] += s; f[l[1]] += s; f[l[2]] -= s; f[l[3]] -= s;
            }
        }
    }
}

void FN(l2k_u1_action)(const double *x, long rows, long n, const int32_t *plaq, long V, double beta,
                       double *scratch, double *out) {
    (void)scratch;
    for (long r = 0; r < rows; r++) {
        const double *xr = x + r * n;
        Sum8 acc = sum8_zero();
        for (long p = 0; p < V; p += W) {
            long k = V - p < W ? V - p : W;
            VD sn, cs;
            v_sincos(plaquettes(xr, plaq, p, k), &sn, &cs);
            sum8_add(&acc, vkeep(1.0 - cs, k), p);
        }
        out[r] = beta * sum8_total(acc);
    }
}

#include "kernels_f32_body.h"

#undef W
#undef FN
