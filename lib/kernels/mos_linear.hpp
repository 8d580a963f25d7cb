// lib/kernels/mos_linear.hpp: the Mixture-of-Supernets linear (Jawahar et al.,
// ACL 2024 Findings; docs/supernet.md), split into three kernels so the model can
// use them separately:
//
//   router:  alpha = softmax(W2[:n_act] ReLU(W1 e + b1) + b2[:n_act])   (per group of m)
//   mix:     W = sum_i alpha_i E_i[:d_out, :d_in],  b = sum_i alpha_i c_i[:d_out]
//   linear:  y = x W^T + b                                   (kernels/linear.hpp)
//
// Layer-wise routing: one alpha in R^m per layer, shared by fc1 and fc2: call
// router_forward once, feed the same alpha to both mixes, let both mix backwards
// accumulate into one dalpha, then call router_backward once.
// Neuron-wise routing: one router per linear whose last layer has m*D_out outputs;
// the first m*d_out are read row-major as [d_out, m] and each row gets its own softmax.
// "Routing" a subnet (mos_route) is the mix alone: it collapses the experts into
// one dense [d_out, d_in] matrix. m = 1 gives alpha = 1 exactly, i.e. the HAT
// weight-sharing supernet.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mos {

enum class MosRouting : int {
    LayerWise = 0,   // alpha [m]
    NeuronWise = 1,  // alpha [d_out, m]
};

// Sizes of one MoS linear. Experts are stored back to back at super size:
// E [m, D_out, D_in], c [m, D_out]; the active slice is (d_out <= D_out, d_in <= D_in).
struct MosShape {
    int64_t m = 1;
    int64_t d_out = 0, d_in = 0;  // active (elastic)
    int64_t D_out = 0, D_in = 0;  // super
    MosRouting routing = MosRouting::LayerWise;
};

// Number of floats of alpha: m (layer-wise) or d_out * m (neuron-wise).
int64_t mos_alpha_size(const MosShape &s);
// Throws MOS_INVALID_ARGUMENT / MOS_OUT_OF_RANGE naming the bad size.
void mos_check_shape(const char *kernel, const MosShape &s);

// ---- mix ----------------------------------------------------------------------
// W[d_out, d_in] (dense, ld = d_in) = sum_i a(j,i) E_i[j, :d_in];  b[d_out] likewise from c.
// a(j,i) = alpha[i] (layer-wise) or alpha[j*m + i] (neuron-wise).
// c and b may both be NULL (no bias).
void mos_mix_forward(float *W, float *b, const float *alpha, const float *E, const float *c,
                     const MosShape &s);

// Floats of scratch mos_mix_backward needs: d_out * m (layer-wise), 0 (neuron-wise).
size_t mos_mix_backward_scratch(const MosShape &s);
// Accumulates, with G = dW [d_out, d_in] (ld d_in) and g_b = db [d_out]:
//   dE_i[j, :d_in] += a(j,i) G[j, :];   dc_i[j] += a(j,i) g_b[j]
//   dalpha_i   += <G, E_i slice>_F + <g_b, c_i slice>          (layer-wise, [m])
//   dalpha[j,i] += <G[j,:], E_i[j,:d_in]> + g_b[j] c_i[j]      (neuron-wise, [d_out, m])
// dE, dc, dalpha may each be NULL. Rows/columns outside the slice are untouched.
void mos_mix_backward(float *dE, float *dc, float *dalpha, float *scratch, const float *dW,
                      const float *db, const float *alpha, const float *E, const float *c,
                      const MosShape &s);

// ---- router -------------------------------------------------------------------
// Router MLP of one layer (layer-wise) or one linear (neuron-wise).
//   e [n_e] (architecture encoding, constant), W1 [H, n_e], b1 [H],
//   W2 [rows_max * m, H], b2 [rows_max * m]; the first rows * m outputs are used.
//   Layer-wise: rows = rows_max = 1. Neuron-wise: rows = d_out (elastic), rows_max = D_out.
struct RouterShape {
    int64_t n_e = 10;
    int64_t H = 128;
    int64_t m = 1;
    int64_t rows = 1, rows_max = 1;
};
RouterShape router_shape_for(const MosShape &s, int64_t n_e, int64_t H);

// alpha [rows, m] = softmax over each row; hidden [H] = ReLU(W1 e + b1) is saved for backward.
void router_forward(float *alpha, float *hidden, const float *e, const float *W1, const float *b1,
                    const float *W2, const float *b2, const RouterShape &r);

// Floats of scratch router_backward needs: rows * m + H.
size_t router_backward_scratch(const RouterShape &r);
// Accumulates dW1, db1, dW2 (first rows*m rows), db2 from dalpha [rows, m], through the
// softmax (dz = a (dalpha - <a, dalpha>)) and the ReLU. e gets no gradient (a constant).
void router_backward(float *dW1, float *db1, float *dW2, float *db2, float *scratch,
                     const float *dalpha, const float *alpha, const float *hidden, const float *e,
                     const float *W1, const float *W2, const RouterShape &r);

// ---- mix + linear ---------------------------------------------------------------
// y[N, d_out] = x[N, d_in] W^T + b with (W, b) = mix(alpha, E, c). Wmix [d_out*d_in] and
// bmix [d_out] are caller scratch that must be kept for backward (saved activations);
// bmix may be NULL when c is NULL.
void mos_linear_forward(float *y, float *Wmix, float *bmix, const float *x, const float *alpha,
                        const float *E, const float *c, int64_t N, const MosShape &s);

// Floats of scratch mos_linear_backward needs (dW, db of the mixed weight + the mix's).
size_t mos_linear_backward_scratch(const MosShape &s);
// Accumulates dx [N, d_in], dE, dc, dalpha (see mos_mix_backward); any may be NULL.
void mos_linear_backward(float *dx, float *dE, float *dc, float *dalpha, float *scratch,
                         const float *dy, const float *x, const float *Wmix, const float *alpha,
                         const float *E, const float *c, int64_t N, const MosShape &s);

namespace ref {
void mos_mix_forward(float *W, float *b, const float *alpha, const float *E, const float *c,
                     const MosShape &s);
void mos_mix_backward(float *dE, float *dc, float *dalpha, const float *dW, const float *db,
                      const float *alpha, const float *E, const float *c, const MosShape &s);
void router_forward(float *alpha, float *hidden, const float *e, const float *W1, const float *b1,
                    const float *W2, const float *b2, const RouterShape &r);
void router_backward(float *dW1, float *db1, float *dW2, float *db2, const float *dalpha,
                     const float *alpha, const float *hidden, const float *e, const float *W1,
                     const float *W2, const RouterShape &r);
}  // namespace ref

}  // namespace mos
