#ifndef L2HMC_KERNELS_H
#define L2HMC_KERNELS_H
/*
 * Vectorized elementwise kernels of the l2hmc-swift runtime (the hot loops around the GEMMs).
 *
 * Math: exp, tanh, sin/cos, atan2, log are our own SIMD implementations (Cody-Waite range
 * reduction with FMA, Taylor polynomials of high enough degree that truncation is far below
 * one ulp); measured against glibc they stay within a few ulp (see VectorMathTests). Every
 * lane computes the same sequence of IEEE operations (no approximate reciprocals, FP
 * contraction off, explicit fma), so:
 *   - a value gives the same result whatever its position in an array (tails are padded),
 *   - the AVX2+FMA, AVX-512 and portable paths give bit-identical results (the portable path
 *     computes fma exactly in software), and row sums use a fixed order of 8 partial sums,
 *   - forward and inverse updates call exactly the same functions.
 * The instruction set is chosen once at run time (__builtin_cpu_supports on x86-64); no
 * compiler flags are needed (functions carry target attributes).
 */
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Instruction set in use: 0 portable, 1 AVX2+FMA, 2 AVX-512. */
int l2k_isa(void);
/* Forces an instruction set (tests); returns the one actually set (capped at what the CPU has). */
int l2k_set_isa(int isa);

/* Arrays, y[i] = f(x[i]); in place allowed. */
void l2k_exp(const double *x, double *y, long n);
void l2k_tanh(const double *x, double *y, long n);
void l2k_log(const double *x, double *y, long n);
void l2k_sincos(const double *x, double *s, double *c, long n);
void l2k_atan2(const double *y, const double *x, double *out, long n);
/* wrap to [-pi, pi), the same operations as Angles.wrap. */
void l2k_wrap(const double *x, double *y, long n);

/* Activation codes. L2K_LEAKY_RELU: z for z >= 0, 0.01 z (one IEEE multiplication by the
 * double 0.01) for z < 0; PyTorch's nn.LeakyReLU() default slope. */
enum { L2K_LINEAR = 0, L2K_RELU = 1, L2K_TANH = 2, L2K_SWISH = 3, L2K_LEAKY_RELU = 4 };

/* a[r, c] = act(a[r, c] + row[c]) for a [rows, cols] (leading dimension cols). */
void l2k_bias_activate(double *a, long rows, long cols, const double *row, int act);

/* h[r, c] = act(sum_j in1[r ld1 + j] w1[j cols + c] + sum_j in2[r ld2 + j] w2[j cols + c] + row[c]):
 * the first layer when the inputs are so narrow that a GEMM would be mostly overhead. */
void l2k_small_input_layer(const double *in1, long ld1, long k1, const double *w1,
                           const double *in2, long ld2, long k2, const double *w2,
                           long rows, long cols, const double *row, int act, double *h);

/* Network heads in place on raw GEMM outputs out [rows, 3n] (no bias yet):
 * S = ws tanh(raw + bS) fS, T = wt (raw + bT), Q = wq tanh(raw + bQ) fQ. bias is [3n]. */
void l2k_heads(double *out, long rows, long n, const double *bias, const double *sf, const double *tf,
               double ws, double wt, double wq);

/* Head outputs of the update kernels come either as raw GEMM outputs (raw [rows, 3n], no bias;
 * z = NULL), or factored (raw = NULL) when all three heads are rank-r products: z [rows, ldz]
 * holds each row's h P = z_S | z_T | z_Q (3r values) and qs, qt, qq the second factors in panels
 * of 16 columns (column c, rank index k at q[(c / 16) 16 r + 16 k + c % 16], zero-padded to whole
 * panels) covering exactly the columns the kernel reads (all n for the v update, the m updated
 * links, from off, for the x update); the kernels then form z_h Q_h themselves. */

/* v update fused with the v-network heads:
 * forward  v' = v e^{eps S/2} - eps/2 (F e^{eps Q} + sigma T),  logdet += eps/2 sum S
 * inverse  v  = (v' + eps/2 (F e^{eps Q} + sigma T)) e^{-eps S/2}, logdet -= eps/2 sum S */
void l2k_v_update(const double *raw, const double *z, long ldz, long rank, const double *qs, const double *qt, const double *qq,
                  long rows, long n, const double *bias, const double *sf, const double *tf,
                  double ws, double wt, double wq, double eps, double sigma, const double *force,
                  double *v, double *logdet, int inverse);

/* x-update forms. */
enum { L2K_X_LINEAR = 0, L2K_X_LINEAR_WRAPPED = 1, L2K_X_NCP = 2 };

/* x update of the links idx[0..<m] of every row, fused with the x-network heads, whose columns
 * were permuted so that link idx[j] is column off + j of each block: S = raw[r, off + j],
 * T = raw[r, n + off + j], Q = raw[r, 2n + off + j] (raw [rows, 3n], no bias), with the biases
 * bias[off + j], bias[n + off + j], bias[2n + off + j] and factors sf[off + j], tf[off + j]
 * (b = eps (v e^{eps Q} + T), es = eps S):
 * linear:  x' = x e^{es} + b (wrapped on the circle), log J = es; inverse (x' - b) e^{-es}
 * ncp:     x' = wrap(2 atan2(e^{es} sin(x/2), cos(x/2)) + b), log J = es - log(cos^2 + e^{2es} sin^2)(x/2);
 *          inverse w = wrap(x' - b), x = 2 atan2(e^{-es} sin(w/2), cos(w/2)),
 *          log J = es + log(cos^2 + e^{-2es} sin^2)(w/2) (the same Jacobian at the pre-image).
 * logdet[r] += sum log J (inverse: -=). When trig is not NULL ([rows, 2n]: cos x | sin x) the
 * entries of the updated links are refreshed. */
void l2k_x_update(const double *raw, const double *z, long ldz, long rank, const double *qs, const double *qt, const double *qq,
                  long rows, long n, long off, long m, const int32_t *idx,
                  const double *bias, const double *sf, const double *tf, double ws, double wt, double wq,
                  double eps, int form, int inverse, double *x, const double *v, double *logdet, double *trig);

/* trig[r, i] = cos x[r, i], trig[r, n + i] = sin x[r, i]. */
void l2k_sincos_blocks(const double *x, long rows, long n, double *trig);

/* Encodings of network inputs. */
enum { L2K_ENC_RAW = 0, L2K_ENC_BLOCKS = 1, L2K_ENC_INTERLEAVED = 2 };
/* out = the encoding of x read through `read` (0/1 doubles, NULL = all read) built from the
 * cos/sin blocks trig ([rows, 2n]; unused for raw): raw r x; before the trig functions
 * (before != 0): cos(r x), sin(r x); after: r cos x, r sin x. */
void l2k_encode(const double *x, const double *trig, long rows, long n, const double *read,
                int encoding, int before, double *out);

/* U(1) Wilson action: plaq [V, 4] link indices with signs + + - -.
 * force: out[r, l] = sum over plaquettes of +-beta sin(phi_P). When plus/minus are given
 * (each link in exactly one plaquette with + and one with -), out[l] = s[plus[l]] - s[minus[l]];
 * otherwise the contributions are scattered in plaquette order. scratch: V doubles. */
void l2k_u1_force(const double *x, long rows, long n, const int32_t *plaq, long V, double beta,
                  const int32_t *plus, const int32_t *minus, double *scratch, double *out);
/* out[r] = beta sum_P (1 - cos phi_P). scratch: V doubles. */
void l2k_u1_action(const double *x, long rows, long n, const int32_t *plaq, long V, double beta,
                   double *scratch, double *out);

/* float32 networks (`--precision float32`): the same kernels on float storage. Each widens its
 * float inputs to double, computes as its double twin does and rounds the result once to float
 * (round to nearest); bit-identical across instruction sets. */
void l2k_bias_activate_f32(float *a, long rows, long cols, const float *row, int act);
void l2k_small_input_layer_f32(const float *in1, long ld1, long k1, const float *w1,
                               const float *in2, long ld2, long k2, const float *w2,
                               long rows, long cols, const float *row, int act, float *h);
/* y[i] = x[i] rounded to float (round to nearest); y[i] = x[i] exactly. */
void l2k_to_f32(const double *x, float *y, long n);
void l2k_to_f64(const float *x, double *y, long n);

/* Leapfrog drift on the circle: x = wrap(x + eps v). */
void l2k_drift_wrapped(double *x, const double *v, double eps, long n);

#ifdef __cplusplus
}
#endif
#endif
