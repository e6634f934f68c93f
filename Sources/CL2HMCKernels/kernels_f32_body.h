/*
 * float32 network kernels (`--precision float32`), included at the end of kernels_body.h so they
 * share its vector width, helpers and activations. Values are stored as float; every kernel
 * widens its float inputs to double, computes exactly as the double kernels do (the same act(),
 * the same fma order) and rounds the result once to float (round to nearest). So the only
 * float32 errors are the storage roundings and SGEMM's float accumulation, and, as for the double
 * kernels, every instruction set gives the same bits.
 */
typedef float VF __attribute__((ext_vector_type(L2K_W)));

static inline __attribute__((always_inline)) VD ldf(const float *p) { VF v; memcpy(&v, p, sizeof v); return __builtin_convertvector(v, VD); }
static inline __attribute__((always_inline)) void stf(float *p, VD v) { VF f = __builtin_convertvector(v, VF); memcpy(p, &f, sizeof f); }
static inline __attribute__((always_inline)) VD ldfk(const float *p, long k, float pad) {
    float t[L2K_W];
    for (long j = 0; j < L2K_W; j++) t[j] = j < k ? p[j] : pad;
    return ldf(t);
}
static inline __attribute__((always_inline)) void stfk(float *p, VD v, long k) {
    float t[L2K_W];
    stf(t, v);
    for (long j = 0; j < k; j++) p[j] = t[j];
}

void FN(l2k_bias_activate_f32)(float *a, long rows, long cols, const float *row, int ac) {
    for (long r = 0; r < rows; r++) {
        float *p = a + r * cols;
        long i = 0;
        for (; i + W <= cols; i += W) stf(p + i, act(ldf(p + i) + ldf(row + i), ac));
        if (i < cols) stfk(p + i, act(ldfk(p + i, cols - i, 0) + ldfk(row + i, cols - i, 0), ac), cols - i);
    }
}

void FN(l2k_small_input_layer_f32)(const float *in1, long ld1, long k1, const float *w1,
                                   const float *in2, long ld2, long k2, const float *w2,
                                   long rows, long cols, const float *row, int ac, float *h) {
    for (long r = 0; r < rows; r++) {
        const float *x1 = in1 + r * ld1, *x2 = in2 + r * ld2;
        float *out = h + r * cols;
        long i = 0;
        for (; i < cols; i += W) {
            long k = cols - i < W ? cols - i : W;
            VD acc = 0;
            for (long j = 0; j < k1; j++) acc = vfma((VD)(double)x1[j], k == W ? ldf(w1 + j * cols + i) : ldfk(w1 + j * cols + i, k, 0), acc);
            for (long j = 0; j < k2; j++) acc = vfma((VD)(double)x2[j], k == W ? ldf(w2 + j * cols + i) : ldfk(w2 + j * cols + i, k, 0), acc);
            VD b = k == W ? ldf(row + i) : ldfk(row + i, k, 0);
            VD y = act(acc + b, ac);
            if (k == W) stf(out + i, y); else stfk(out + i, y, k);
        }
    }
}

void FN(l2k_to_f32)(const double *x, float *y, long n) {
    long i = 0;
    for (; i + W <= n; i += W) stf(y + i, ld(x + i));
    if (i < n) stfk(y + i, ldk(x + i, n - i, 0), n - i);
}

void FN(l2k_to_f64)(const float *x, double *y, long n) {
    long i = 0;
    for (; i + W <= n; i += W) st(y + i, ldf(x + i));
    if (i < n) stk(y + i, ldfk(x + i, n - i, 0), n - i);
}
