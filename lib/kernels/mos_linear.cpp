// lib/kernels/mos_linear.cpp: router, mix and mix+linear of the Mixture-of-Supernets
// FFN (Jawahar et al., ACL 2024 Findings, §3; docs/supernet.md), with naive references.
//
// Gradients (of the mix in mos_linear.hpp): with G = dL/dW on the active slice and g_b = dL/db,
//   dE_i[:d_out,:d_in] += alpha_i G,  dc_i += alpha_i g_b,
//   dalpha_i = <G, E_i[:d_out,:d_in]>_F + <g_b, c_i[:d_out]>   (per row for neuron-wise),
// then through the softmax, dz_i = alpha_i (dalpha_i - sum_k alpha_k dalpha_k), and the
// router MLP. The router is evaluated once per step per layer (it reads the
// architecture, not the tokens), so its cost is negligible next to the token work.
#include "kernels/mos_linear.hpp"

#include <cmath>

#include "backend/gemm.hpp"
#include "backend/profile.hpp"
#include "kernels/common.hpp"
#include "kernels/linear.hpp"

namespace mos {

namespace {

// y[0..n) += a * x[0..n)
MOS_HOT_CLONES void axpy(float *y, float a, const float *x, int64_t n) {
    for (int64_t k = 0; k < n; k++) y[k] += a * x[k];
}

// y[0..n) = a * x[0..n)
MOS_HOT_CLONES void scale_copy(float *y, float a, const float *x, int64_t n) {
    for (int64_t k = 0; k < n; k++) y[k] = a * x[k];
}

// <x, y> with 8 independent partial sums so the loop vectorises without -ffast-math.
MOS_HOT_CLONES double dot(const float *x, const float *y, int64_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int u = 0; u < 8; u++) acc[u] += x[k + u] * y[k + u];
    double s = 0.0;
    for (; k < n; k++) s += static_cast<double>(x[k]) * y[k];
    for (int u = 0; u < 8; u++) s += acc[u];
    return s;
}

inline float coef(const float *alpha, const MosShape &s, int64_t j, int64_t i) {
    return s.routing == MosRouting::NeuronWise ? alpha[j * s.m + i] : alpha[i];
}

// In-place softmax over each group of m consecutive floats, numerically stable.
void softmax_groups(float *z, int64_t rows, int64_t m) {
    for (int64_t j = 0; j < rows; j++) {
        float *r = z + j * m;
        float mx = r[0];
        for (int64_t i = 1; i < m; i++) mx = r[i] > mx ? r[i] : mx;
        double sum = 0.0;
        for (int64_t i = 0; i < m; i++) {
            r[i] = std::exp(r[i] - mx);
            sum += r[i];
        }
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t i = 0; i < m; i++) r[i] *= inv;
    }
}

void check_router(const char *k, const RouterShape &r) {
    check(r.n_e >= 1, MOS_INVALID_ARGUMENT, k, ": router input size ", r.n_e, " < 1");
    check(r.H >= 1, MOS_INVALID_ARGUMENT, k, ": router hidden size ", r.H, " < 1");
    check(r.m >= 1, MOS_INVALID_ARGUMENT, k, ": number of experts m = ", r.m, " < 1");
    check(r.rows >= 1, MOS_INVALID_ARGUMENT, k, ": router rows ", r.rows, " < 1");
    kern::check_active(k, "router rows", r.rows, r.rows_max);
}

}  // namespace

int64_t mos_alpha_size(const MosShape &s) {
    return s.routing == MosRouting::NeuronWise ? s.d_out * s.m : s.m;
}

void mos_check_shape(const char *k, const MosShape &s) {
    check(s.m >= 1, MOS_INVALID_ARGUMENT, k, ": number of experts m = ", s.m, " < 1");
    check(s.routing == MosRouting::LayerWise || s.routing == MosRouting::NeuronWise,
          MOS_INVALID_ARGUMENT, k, ": unknown routing mode ", static_cast<int>(s.routing));
    kern::check_active(k, "d_out", s.d_out, s.D_out);
    kern::check_active(k, "d_in", s.d_in, s.D_in);
}

RouterShape router_shape_for(const MosShape &s, int64_t n_e, int64_t H) {
    RouterShape r;
    r.n_e = n_e;
    r.H = H;
    r.m = s.m;
    const bool nw = s.routing == MosRouting::NeuronWise;
    r.rows = nw ? s.d_out : 1;
    r.rows_max = nw ? s.D_out : 1;
    return r;
}

// ---- mix ----------------------------------------------------------------------

void mos_mix_forward(float *W, float *b, const float *alpha, const float *E, const float *c,
                     const MosShape &s) {
    mos_check_shape("mos_mix_forward", s);
    PhaseScope scope(Phase::Mix);
    const int64_t m = s.m, d_in = s.d_in, D_in = s.D_in, plane = s.D_out * s.D_in;
#pragma omp parallel for if (s.d_out * d_in * m > kern::kOmpMinWork) schedule(static)
    for (int64_t j = 0; j < s.d_out; j++) {
        float *w = W + j * d_in;
        const float *e0 = E + j * D_in;
        // Starting from alpha_0 * E_0 (not 0 + ...) keeps m = 1 bit-exact: 1.0f * E.
        scale_copy(w, coef(alpha, s, j, 0), e0, d_in);
        for (int64_t i = 1; i < m; i++) axpy(w, coef(alpha, s, j, i), e0 + i * plane, d_in);
    }
    if (b && c) {
        for (int64_t j = 0; j < s.d_out; j++) {
            float acc = coef(alpha, s, j, 0) * c[j];
            for (int64_t i = 1; i < m; i++) acc += coef(alpha, s, j, i) * c[i * s.D_out + j];
            b[j] = acc;
        }
    }
}

size_t mos_mix_backward_scratch(const MosShape &s) {
    return s.routing == MosRouting::NeuronWise ? 0 : static_cast<size_t>(s.d_out * s.m);
}

void mos_mix_backward(float *dE, float *dc, float *dalpha, float *scratch, const float *dW,
                      const float *db, const float *alpha, const float *E, const float *c,
                      const MosShape &s) {
    mos_check_shape("mos_mix_backward", s);
    PhaseScope scope(Phase::Mix);
    const bool nw = s.routing == MosRouting::NeuronWise;
    if (dalpha && !nw) kern::check_ptr("mos_mix_backward", "scratch (layer-wise dalpha)", scratch);
    const int64_t m = s.m, d_in = s.d_in, D_in = s.D_in, D_out = s.D_out, plane = D_out * D_in;
    const bool bias = db && c;
    // Parallel over output rows: every row's dE_i row and dot products belong to one
    // thread. Layer-wise dalpha is reduced afterwards in a fixed order from per-row
    // partials, so the result does not depend on the thread count.
#pragma omp parallel for if (s.d_out * d_in * m > kern::kOmpMinWork) schedule(static)
    for (int64_t j = 0; j < s.d_out; j++) {
        const float *g = dW + j * d_in;
        for (int64_t i = 0; i < m; i++) {
            const float a = coef(alpha, s, j, i);
            if (dalpha) {
                double d = dot(g, E + i * plane + j * D_in, d_in);
                if (bias) d += static_cast<double>(db[j]) * c[i * D_out + j];
                if (nw)
                    dalpha[j * m + i] += static_cast<float>(d);
                else
                    scratch[j * m + i] = static_cast<float>(d);
            }
            if (dE) axpy(dE + i * plane + j * D_in, a, g, d_in);
            if (dc && db) dc[i * D_out + j] += a * db[j];
        }
    }
    if (dalpha && !nw) {
        for (int64_t i = 0; i < m; i++) {
            double acc = 0.0;
            for (int64_t j = 0; j < s.d_out; j++) acc += scratch[j * m + i];
            dalpha[i] += static_cast<float>(acc);
        }
    }
}

// ---- router -------------------------------------------------------------------

void router_forward(float *alpha, float *hidden, const float *e, const float *W1, const float *b1,
                    const float *W2, const float *b2, const RouterShape &r) {
    check_router("router_forward", r);
    PhaseScope scope(Phase::Router);
    const int64_t n_out = r.rows * r.m;
    // hidden[1, H] = e[1, n_e] W1^T + b1, then ReLU.
    for (int64_t h = 0; h < r.H; h++) hidden[h] = b1[h];
    gemm(make_gemm(false, true, 1, r.H, r.n_e, r.n_e, r.n_e, r.H, 1.0f, 1.0f), e, W1, hidden);
    for (int64_t h = 0; h < r.H; h++) hidden[h] = hidden[h] > 0.0f ? hidden[h] : 0.0f;
    // z[1, rows*m] = hidden W2[:rows*m]^T + b2[:rows*m], written into alpha, then softmax.
    for (int64_t o = 0; o < n_out; o++) alpha[o] = b2[o];
    gemm(make_gemm(false, true, 1, n_out, r.H, r.H, r.H, n_out, 1.0f, 1.0f), hidden, W2, alpha);
    softmax_groups(alpha, r.rows, r.m);
}

size_t router_backward_scratch(const RouterShape &r) { return static_cast<size_t>(r.rows * r.m + r.H); }

void router_backward(float *dW1, float *db1, float *dW2, float *db2, float *scratch,
                     const float *dalpha, const float *alpha, const float *hidden, const float *e,
                     const float *W1, const float *W2, const RouterShape &r) {
    check_router("router_backward", r);
    PhaseScope scope(Phase::Router);
    kern::check_ptr("router_backward", "scratch", scratch);
    const int64_t n_out = r.rows * r.m;
    float *dz = scratch;          // [rows * m]
    float *dh = scratch + n_out;  // [H]
    // Softmax backward per row: dz_i = a_i (da_i - sum_k a_k da_k).
    for (int64_t j = 0; j < r.rows; j++) {
        const float *a = alpha + j * r.m, *da = dalpha + j * r.m;
        double s = 0.0;
        for (int64_t i = 0; i < r.m; i++) s += static_cast<double>(a[i]) * da[i];
        for (int64_t i = 0; i < r.m; i++) dz[j * r.m + i] = static_cast<float>(a[i] * (da[i] - s));
    }
    if (db2)
        for (int64_t o = 0; o < n_out; o++) db2[o] += dz[o];
    if (dW2) {
        // dW2[:rows*m, :H] += dz^T[rows*m, 1] hidden[1, H]
        gemm(make_gemm(true, false, n_out, r.H, 1, n_out, r.H, r.H, 1.0f, 1.0f), dz, hidden, dW2);
    }
    if (!dW1 && !db1) return;
    // dh[1, H] = dz[1, rows*m] W2[:rows*m, :H], through the ReLU (hidden > 0 where active).
    gemm(make_gemm(false, false, 1, r.H, n_out, n_out, r.H, r.H), dz, W2, dh);
    for (int64_t h = 0; h < r.H; h++) dh[h] = hidden[h] > 0.0f ? dh[h] : 0.0f;
    if (db1)
        for (int64_t h = 0; h < r.H; h++) db1[h] += dh[h];
    if (dW1) {
        // dW1[H, n_e] += dh^T[H, 1] e[1, n_e]
        gemm(make_gemm(true, false, r.H, r.n_e, 1, r.H, r.n_e, r.n_e, 1.0f, 1.0f), dh, e, dW1);
    }
    (void)W1;
}

// ---- mix + linear ---------------------------------------------------------------

void mos_linear_forward(float *y, float *Wmix, float *bmix, const float *x, const float *alpha,
                        const float *E, const float *c, int64_t N, const MosShape &s) {
    mos_check_shape("mos_linear_forward", s);
    mos_mix_forward(Wmix, c ? bmix : nullptr, alpha, E, c, s);
    linear_forward(y, x, Wmix, c ? bmix : nullptr, N, s.d_in, s.d_out, s.d_in > 0 ? s.d_in : 1);
}

size_t mos_linear_backward_scratch(const MosShape &s) {
    return static_cast<size_t>(s.d_out * s.d_in + s.d_out) + mos_mix_backward_scratch(s);
}

void mos_linear_backward(float *dx, float *dE, float *dc, float *dalpha, float *scratch,
                         const float *dy, const float *x, const float *Wmix, const float *alpha,
                         const float *E, const float *c, int64_t N, const MosShape &s) {
    mos_check_shape("mos_linear_backward", s);
    kern::check_ptr("mos_linear_backward", "scratch", scratch);
    // G = dL/dW and g_b = dL/db of the mixed weight live in scratch: zeroed here because
    // they are this call's temporaries, not gradients the caller accumulates.
    float *G = scratch, *gb = scratch + s.d_out * s.d_in, *mix_scratch = gb + s.d_out;
    for (int64_t k = 0; k < s.d_out * s.d_in + s.d_out; k++) scratch[k] = 0.0f;
    linear_backward(dx, G, c ? gb : nullptr, dy, x, Wmix, N, s.d_in, s.d_out, s.d_in > 0 ? s.d_in : 1);
    mos_mix_backward(dE, dc, dalpha, mix_scratch, G, c ? gb : nullptr, alpha, E, c, s);
}

// ---- references (naive loops, double accumulation) ---------------------------------

namespace ref {

void mos_mix_forward(float *W, float *b, const float *alpha, const float *E, const float *c,
                     const MosShape &s) {
    const int64_t plane = s.D_out * s.D_in;
    for (int64_t j = 0; j < s.d_out; j++) {
        for (int64_t k = 0; k < s.d_in; k++) {
            double acc = 0.0;
            for (int64_t i = 0; i < s.m; i++) acc += static_cast<double>(coef(alpha, s, j, i)) * E[i * plane + j * s.D_in + k];
            W[j * s.d_in + k] = static_cast<float>(acc);
        }
        if (b && c) {
            double acc = 0.0;
            for (int64_t i = 0; i < s.m; i++) acc += static_cast<double>(coef(alpha, s, j, i)) * c[i * s.D_out + j];
            b[j] = static_cast<float>(acc);
        }
    }
}

void mos_mix_backward(float *dE, float *dc, float *dalpha, const float *dW, const float *db,
                      const float *alpha, const float *E, const float *c, const MosShape &s) {
    const int64_t plane = s.D_out * s.D_in;
    const bool nw = s.routing == MosRouting::NeuronWise;
    for (int64_t i = 0; i < s.m; i++) {
        double tot = 0.0;
        for (int64_t j = 0; j < s.d_out; j++) {
            const float a = coef(alpha, s, j, i);
            double row = 0.0;
            for (int64_t k = 0; k < s.d_in; k++) {
                const float g = dW[j * s.d_in + k];
                row += static_cast<double>(g) * E[i * plane + j * s.D_in + k];
                if (dE) dE[i * plane + j * s.D_in + k] += a * g;
            }
            if (db && c) {
                row += static_cast<double>(db[j]) * c[i * s.D_out + j];
                if (dc) dc[i * s.D_out + j] += a * db[j];
            }
            if (dalpha && nw) dalpha[j * s.m + i] += static_cast<float>(row);
            tot += row;
        }
        if (dalpha && !nw) dalpha[i] += static_cast<float>(tot);
    }
}

void router_forward(float *alpha, float *hidden, const float *e, const float *W1, const float *b1,
                    const float *W2, const float *b2, const RouterShape &r) {
    for (int64_t h = 0; h < r.H; h++) {
        double acc = b1[h];
        for (int64_t k = 0; k < r.n_e; k++) acc += static_cast<double>(W1[h * r.n_e + k]) * e[k];
        hidden[h] = acc > 0.0 ? static_cast<float>(acc) : 0.0f;
    }
    for (int64_t j = 0; j < r.rows; j++) {
        double z[64];  // m <= 64 in the reference
        double mx = -INFINITY, sum = 0.0;
        for (int64_t i = 0; i < r.m && i < 64; i++) {
            const int64_t o = j * r.m + i;
            double acc = b2[o];
            for (int64_t h = 0; h < r.H; h++) acc += static_cast<double>(W2[o * r.H + h]) * hidden[h];
            z[i] = acc;
            mx = acc > mx ? acc : mx;
        }
        for (int64_t i = 0; i < r.m && i < 64; i++) sum += std::exp(z[i] - mx);
        for (int64_t i = 0; i < r.m && i < 64; i++) alpha[j * r.m + i] = static_cast<float>(std::exp(z[i] - mx) / sum);
    }
}

void router_backward(float *dW1, float *db1, float *dW2, float *db2, const float *dalpha,
                     const float *alpha, const float *hidden, const float *e, const float *W1,
                     const float *W2, const RouterShape &r) {
    (void)W1;
    for (int64_t h = 0; h < r.H; h++) {
        double dh = 0.0;
        for (int64_t j = 0; j < r.rows; j++) {
            double s = 0.0;
            for (int64_t i = 0; i < r.m; i++) s += static_cast<double>(alpha[j * r.m + i]) * dalpha[j * r.m + i];
            for (int64_t i = 0; i < r.m; i++) {
                const int64_t o = j * r.m + i;
                const double dz = alpha[o] * (dalpha[o] - s);
                dh += dz * W2[o * r.H + h];
                if (dW2) dW2[o * r.H + h] += static_cast<float>(dz * hidden[h]);
                if (db2 && h == 0) db2[o] += static_cast<float>(dz);
            }
        }
        if (hidden[h] <= 0.0f) dh = 0.0;
        if (db1) db1[h] += static_cast<float>(dh);
        if (dW1)
            for (int64_t k = 0; k < r.n_e; k++) dW1[h * r.n_e + k] += static_cast<float>(dh * e[k]);
    }
}

}  // namespace ref

}  // namespace mos
