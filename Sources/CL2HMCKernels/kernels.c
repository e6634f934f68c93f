/* Run-time choice of the instruction set for the kernels in kernels_body.h. */
#include <stdlib.h>
#include <string.h>
#include "l2hmc_kernels.h"

#define DECLARE(sfx) \
    void l2k_exp##sfx(const double *, double *, long); \
    void l2k_tanh##sfx(const double *, double *, long); \
    void l2k_log##sfx(const double *, double *, long); \
    void l2k_sincos##sfx(const double *, double *, double *, long); \
    void l2k_atan2##sfx(const double *, const double *, double *, long); \
    void l2k_wrap##sfx(const double *, double *, long); \
    void l2k_drift_wrapped##sfx(double *, const double *, double, long); \
    void l2k_bias_activate##sfx(double *, long, long, const double *, int); \
    void l2k_small_input_layer##sfx(const double *, long, long, const double *, const double *, long, long, const double *, \
                                    long, long, const double *, int, double *); \
    void l2k_heads##sfx(double *, long, long, const double *, const double *, const double *, double, double, double); \
    void l2k_v_update##sfx(const double *, const double *, long, long, const double *, const double *, const double *, \
                           long, long, const double *, const double *, const double *, double, double, double, \
                           double, double, const double *, double *, double *, int); \
    void l2k_x_update##sfx(const double *, const double *, long, long, const double *, const double *, const double *, \
                           long, long, long, long, const int32_t *, const double *, const double *, const double *, \
                           double, double, double, double, int, int, double *, const double *, double *, double *); \
    void l2k_sincos_blocks##sfx(const double *, long, long, double *); \
    void l2k_encode##sfx(const double *, const double *, long, long, const double *, int, int, double *); \
    void l2k_u1_force##sfx(const double *, long, long, const int32_t *, long, double, const int32_t *, const int32_t *, double *, double *); \
    void l2k_u1_action##sfx(const double *, long, long, const int32_t *, long, double, double *, double *); \
    void l2k_bias_activate_f32##sfx(float *, long, long, const float *, int); \
    void l2k_small_input_layer_f32##sfx(const float *, long, long, const float *, const float *, long, long, const float *, \
                                        long, long, const float *, int, float *); \
    void l2k_to_f32##sfx(const double *, float *, long); \
    void l2k_to_f64##sfx(const float *, double *, long);

DECLARE(_portable)
#if defined(__x86_64__)
DECLARE(_avx2)
DECLARE(_avx512)
#endif

static int best_isa(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

/* -1: not chosen yet. The choice is idempotent, so a benign first-call race is harmless;
 * atomics keep it well defined. */
static int current_isa = -1;

static int pick(void) {
    int isa = __atomic_load_n(&current_isa, __ATOMIC_RELAXED);
    if (isa >= 0) return isa;
    isa = best_isa();
    /* L2HMC_KERNELS=portable|avx2|avx512 lowers the choice (diagnostics, benchmarks). */
    const char *env = getenv("L2HMC_KERNELS");
    if (env) {
        int want = strcmp(env, "portable") == 0 ? 0 : strcmp(env, "avx2") == 0 ? 1 : strcmp(env, "avx512") == 0 ? 2 : isa;
        if (want < isa) isa = want;
    }
    __atomic_store_n(&current_isa, isa, __ATOMIC_RELAXED);
    return isa;
}

int l2k_isa(void) { return pick(); }

int l2k_set_isa(int isa) {
    int best = best_isa();
    if (isa < 0) isa = 0;
    if (isa > best) isa = best;
    __atomic_store_n(&current_isa, isa, __ATOMIC_RELAXED);
    return isa;
}

#if defined(__x86_64__)
#define DISPATCH(name, ...) do { \
        switch (pick()) { \
        case 2: name##_avx512(__VA_ARGS__); return; \
        case 1: name##_avx2(__VA_ARGS__); return; \
        default: name##_portable(__VA_ARGS__); return; \
        } } while (0)
/* For row-wise kernels whose rows are narrow (fewer than 16 values per row, e.g. a 2D mixture),
 * the AVX2 build (4 lanes) wastes fewer lanes than the AVX-512 one (16 lanes); every path gives
 * the same bits, so the choice is free. */
#define DISPATCH_ROWS(width, name, ...) do { \
        int isa_ = pick(); \
        if (isa_ == 2 && (width) < 16) isa_ = 1; \
        switch (isa_) { \
        case 2: name##_avx512(__VA_ARGS__); return; \
        case 1: name##_avx2(__VA_ARGS__); return; \
        default: name##_portable(__VA_ARGS__); return; \
        } } while (0)
#else
#define DISPATCH(name, ...) do { name##_portable(__VA_ARGS__); return; } while (0)
#define DISPATCH_ROWS(width, name, ...) do { name##_portable(__VA_ARGS__); return; } while (0)
#endif

void l2k_exp(const double *x, double *y, long n) { DISPATCH(l2k_exp, x, y, n); }
void l2k_tanh(const double *x, double *y, long n) { DISPATCH(l2k_tanh, x, y, n); }
void l2k_log(const double *x, double *y, long n) { DISPATCH(l2k_log, x, y, n); }
void l2k_sincos(const double *x, double *s, double *c, long n) { DISPATCH(l2k_sincos, x, s, c, n); }
void l2k_atan2(const double *y, const double *x, double *out, long n) { DISPATCH(l2k_atan2, y, x, out, n); }
void l2k_wrap(const double *x, double *y, long n) { DISPATCH(l2k_wrap, x, y, n); }
void l2k_drift_wrapped(double *x, const double *v, double eps, long n) { DISPATCH(l2k_drift_wrapped, x, v, eps, n); }
void l2k_bias_activate(double *a, long rows, long cols, const double *row, int act) {
    DISPATCH_ROWS(cols, l2k_bias_activate, a, rows, cols, row, act);
}
void l2k_small_input_layer(const double *in1, long ld1, long k1, const double *w1, const double *in2, long ld2, long k2,
                           const double *w2, long rows, long cols, const double *row, int act, double *h) {
    DISPATCH_ROWS(cols, l2k_small_input_layer, in1, ld1, k1, w1, in2, ld2, k2, w2, rows, cols, row, act, h);
}
void l2k_heads(double *out, long rows, long n, const double *bias, const double *sf, const double *tf,
               double ws, double wt, double wq) {
    DISPATCH_ROWS(n, l2k_heads, out, rows, n, bias, sf, tf, ws, wt, wq);
}
void l2k_v_update(const double *raw, const double *z, long ldz, long rank, const double *qs, const double *qt, const double *qq,
                  long rows, long n, const double *bias, const double *sf, const double *tf,
                  double ws, double wt, double wq, double eps, double sigma, const double *force,
                  double *v, double *logdet, int inverse) {
    DISPATCH_ROWS(n, l2k_v_update, raw, z, ldz, rank, qs, qt, qq, rows, n, bias, sf, tf, ws, wt, wq, eps, sigma, force, v, logdet, inverse);
}
void l2k_x_update(const double *raw, const double *z, long ldz, long rank, const double *qs, const double *qt, const double *qq,
                  long rows, long n, long off, long m, const int32_t *idx,
                  const double *bias, const double *sf, const double *tf, double ws, double wt, double wq,
                  double eps, int form, int inverse, double *x, const double *v, double *logdet, double *trig) {
    DISPATCH_ROWS(m, l2k_x_update, raw, z, ldz, rank, qs, qt, qq, rows, n, off, m, idx, bias, sf, tf, ws, wt, wq, eps, form, inverse,
                  x, v, logdet, trig);
}
void l2k_sincos_blocks(const double *x, long rows, long n, double *trig) { DISPATCH_ROWS(n, l2k_sincos_blocks, x, rows, n, trig); }
void l2k_encode(const double *x, const double *trig, long rows, long n, const double *read, int encoding, int before, double *out) {
    DISPATCH(l2k_encode, x, trig, rows, n, read, encoding, before, out);
}
void l2k_u1_force(const double *x, long rows, long n, const int32_t *plaq, long V, double beta,
                  const int32_t *plus, const int32_t *minus, double *scratch, double *out) {
    DISPATCH_ROWS(V, l2k_u1_force, x, rows, n, plaq, V, beta, plus, minus, scratch, out);
}
void l2k_u1_action(const double *x, long rows, long n, const int32_t *plaq, long V, double beta, double *scratch, double *out) {
    DISPATCH_ROWS(V, l2k_u1_action, x, rows, n, plaq, V, beta, scratch, out);
}

void l2k_bias_activate_f32(float *a, long rows, long cols, const float *row, int act) {
    DISPATCH_ROWS(cols, l2k_bias_activate_f32, a, rows, cols, row, act);
}
void l2k_small_input_layer_f32(const float *in1, long ld1, long k1, const float *w1, const float *in2, long ld2, long k2,
                               const float *w2, long rows, long cols, const float *row, int act, float *h) {
    DISPATCH_ROWS(cols, l2k_small_input_layer_f32, in1, ld1, k1, w1, in2, ld2, k2, w2, rows, cols, row, act, h);
}
void l2k_to_f32(const double *x, float *y, long n) { DISPATCH(l2k_to_f32, x, y, n); }
void l2k_to_f64(const float *x, double *y, long n) { DISPATCH(l2k_to_f64, x, y, n); }
