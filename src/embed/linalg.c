/* linalg.c: just enough dense linear algebra for LSA: sparse x dense
 * products, CholeskyQR2 orthonormalization, a Jacobi eigensolver, and the
 * randomized truncated SVD built from them. No BLAS dependency. */
#include "embed_int.h"

#include <math.h>
#include <string.h>

/* Rows of the Gram matrix are summed in float this many at a time, then
 * flushed to double: the float kernel vectorizes, and the flush bounds the
 * rounding error of long sums (the ill-conditioning CholeskyQR squares). */
#define GRAM_BLOCK 128

void fd_la_mul(const fd_csr *A, const float *X, uint32_t ls, float *Y)
{
    for (uint32_t i = 0; i < A->m; i++) {
        float *y = Y + (size_t)i * ls;
        memset(y, 0, ls * sizeof *y);
        for (size_t e = A->row[i]; e < A->row[i + 1]; e++) {
            if (e + LA_PREFETCH < A->row[A->m])
                fd_la_prefetch_row(X + (size_t)A->col[e + LA_PREFETCH] * ls, ls);
            fd_la_axpy(y, A->val[e], X + (size_t)A->col[e] * ls, ls);
        }
    }
}

void fd_la_mul_t(const fd_csr *A, const float *Y, uint32_t ls, float *Z)
{
    memset(Z, 0, (size_t)A->n_cols * ls * sizeof *Z);
    for (uint32_t i = 0; i < A->m; i++) {
        const float *y = Y + (size_t)i * ls;
        for (size_t e = A->row[i]; e < A->row[i + 1]; e++) {
            if (e + LA_PREFETCH < A->row[A->m])
                fd_la_prefetch_row(Z + (size_t)A->col[e + LA_PREFETCH] * ls, ls);
            fd_la_axpy(Z + (size_t)A->col[e] * ls, A->val[e], y, ls);
        }
    }
}

/* g += c0 x0 + c1 x1 + c2 x2 + c3 x3: four rows per sweep over g, which is
 * l x ls (83 KB at l = 144, L2-resident), cuts its load/store traffic 4x. */
static void axpy4(float *restrict g, const float *c, const float *restrict x0,
                  const float *restrict x1, const float *restrict x2, const float *restrict x3,
                  size_t n)
{
    for (size_t i = 0; i < n; i += LA_LANES)
        for (size_t j = 0; j < LA_LANES; j++)
            g[i + j] += c[0] * x0[i + j] + c[1] * x1[i + j] + c[2] * x2[i + j] + c[3] * x3[i + j];
}

/* Adds rows y[0..4) (stride ls) times their transposes into part, blocks
 * on or right of the diagonal only. */
static void gram_rows4(const float *y, uint32_t l, uint32_t ls, float *part)
{
    for (uint32_t a = 0; a < l; a++) {
        float c[4] = {y[a], y[ls + a], y[2 * (size_t)ls + a], y[3 * (size_t)ls + a]};
        uint32_t b0 = a / LA_LANES * LA_LANES;
        if (c[0] != 0 || c[1] != 0 || c[2] != 0 || c[3] != 0)
            axpy4(part + (size_t)a * ls + b0, c, y + b0, y + ls + b0, y + 2 * (size_t)ls + b0,
                  y + 3 * (size_t)ls + b0, ls - b0);
    }
}

/* G (l x l, double, full) = Y^T Y over the first l columns, then mirrored. */
static void gram(const float *Y, size_t rows, uint32_t l, uint32_t ls, float *part, double *G)
{
    memset(G, 0, (size_t)l * l * sizeof *G);
    for (size_t r0 = 0; r0 < rows; r0 += GRAM_BLOCK) {
        size_t r1 = r0 + GRAM_BLOCK < rows ? r0 + GRAM_BLOCK : rows;
        memset(part, 0, (size_t)l * ls * sizeof *part);
        size_t r = r0;
        for (; r + 4 <= r1; r += 4)
            gram_rows4(Y + r * ls, l, ls, part);
        for (; r < r1; r++) { /* the last rows, one by one */
            const float *y = Y + r * ls;
            for (uint32_t a = 0; a < l; a++) {
                uint32_t b0 = a / LA_LANES * LA_LANES;
                if (y[a] != 0)
                    fd_la_axpy(part + (size_t)a * ls + b0, y[a], y + b0, ls - b0);
            }
        }
        for (uint32_t a = 0; a < l; a++)
            for (uint32_t b = a; b < l; b++)
                G[(size_t)a * l + b] += part[(size_t)a * ls + b];
    }
    for (uint32_t a = 0; a < l; a++)
        for (uint32_t b = 0; b < a; b++)
            G[(size_t)a * l + b] = G[(size_t)b * l + a];
}

/* Upper Cholesky factor R of G (G = R^T R), then its inverse into Ri
 * (float, l x ls, upper). A pivot that is not clearly positive marks a
 * column dependent on the ones before it; its row and column of Ri stay
 * zero, so Y * Ri drops that column instead of amplifying noise. */
static void chol_inverse(double *G, uint32_t l, uint32_t ls, float *Ri, double *R)
{
    memset(R, 0, (size_t)l * l * sizeof *R);
    for (uint32_t j = 0; j < l; j++) {
        double d = G[(size_t)j * l + j];
        for (uint32_t i = 0; i < j; i++)
            d -= R[(size_t)i * l + j] * R[(size_t)i * l + j];
        if (!(d > 1e-7 * G[(size_t)j * l + j]) || !(d > 1e-30))
            continue; /* dependent: row j of R stays zero */
        double rjj = sqrt(d);
        R[(size_t)j * l + j] = rjj;
        for (uint32_t c = j + 1; c < l; c++) {
            double s = G[(size_t)j * l + c];
            for (uint32_t i = 0; i < j; i++)
                s -= R[(size_t)i * l + j] * R[(size_t)i * l + c];
            R[(size_t)j * l + c] = s / rjj;
        }
    }
    /* Ri = R^-1 by back substitution, column by column; G is reused as
     * double scratch for the inverse. */
    double *X = G;
    memset(X, 0, (size_t)l * l * sizeof *X);
    for (uint32_t c = 0; c < l; c++) {
        for (uint32_t r = c + 1; r-- > 0;) {
            if (R[(size_t)r * l + r] == 0)
                continue;
            double s = r == c ? 1.0 : 0.0;
            for (uint32_t i = r + 1; i <= c; i++)
                s -= R[(size_t)r * l + i] * X[(size_t)i * l + c];
            X[(size_t)r * l + c] = s / R[(size_t)r * l + r];
        }
    }
    memset(Ri, 0, (size_t)l * ls * sizeof *Ri);
    for (uint32_t r = 0; r < l; r++)
        for (uint32_t c = r; c < l; c++)
            Ri[(size_t)r * ls + c] = (float)X[(size_t)r * l + c];
}

/* t_k += c_k x for k < 4: one sweep over x (a row of Ri) feeds four rows. */
static void axpy_to4(float *restrict t, const float *c, const float *restrict x, size_t ls,
                     size_t n)
{
    for (size_t i = 0; i < n; i += LA_LANES)
        for (size_t j = 0; j < LA_LANES; j++) {
            t[i + j] += c[0] * x[i + j];
            t[ls + i + j] += c[1] * x[i + j];
            t[2 * ls + i + j] += c[2] * x[i + j];
            t[3 * ls + i + j] += c[3] * x[i + j];
        }
}

/* Y <- Y * Ri, four rows at a time through a 4-row scratch t (4 x ls);
 * a missing 4th row at the end reads as zeros. */
static void apply_upper(float *Y, size_t rows, uint32_t l, uint32_t ls, const float *Ri, float *t)
{
    for (size_t r = 0; r < rows; r += 4) {
        size_t nr = rows - r < 4 ? rows - r : 4;
        float *y = Y + r * ls;
        memset(t, 0, 4 * (size_t)ls * sizeof *t);
        for (uint32_t a = 0; a < l; a++) {
            float c[4] = {0, 0, 0, 0};
            for (size_t k = 0; k < nr; k++)
                c[k] = y[k * ls + a];
            uint32_t b0 = a / LA_LANES * LA_LANES;
            if (c[0] != 0 || c[1] != 0 || c[2] != 0 || c[3] != 0)
                axpy_to4(t + b0, c, Ri + (size_t)a * ls + b0, ls, ls - b0);
        }
        memcpy(y, t, nr * ls * sizeof *t);
    }
}

/* CholeskyQR (Fukaya et al. 2014): Y <- Y R^-1 with R from the Gram
 * matrix, at half the flops of modified Gram-Schmidt and in row-major
 * order, the layout the sparse products want. One pass leaves an
 * orthogonality error ~ cond(Y)^2 * eps, which subspace iteration keeps
 * small (Y is re-orthonormalized after every product) and which only
 * matters for the final basis: that one gets a second pass (CholeskyQR2,
 * orthonormal to float precision). */
int fd_la_orthonormalize(float *Y, size_t rows, uint32_t l, uint32_t ls, int passes)
{
    float *part = fd_malloc((size_t)l * ls * sizeof *part);
    float *Ri = fd_malloc((size_t)l * ls * sizeof *Ri);
    float *t = fd_malloc(4 * (size_t)ls * sizeof *t);
    double *G = fd_malloc((size_t)l * l * sizeof *G);
    double *R = fd_malloc((size_t)l * l * sizeof *R);
    int rc = part && Ri && t && G && R ? FD_OK : FD_ENOMEM;
    for (int pass = 0; pass < passes && !rc; pass++) {
        gram(Y, rows, l, ls, part, G);
        chol_inverse(G, l, ls, Ri, R);
        apply_upper(Y, rows, l, ls, Ri, t);
    }
    fd_free(part);
    fd_free(Ri);
    fd_free(t);
    fd_free(G);
    fd_free(R);
    return rc;
}

/* ---- symmetric eigenproblem ------------------------------------------------ */

static void rotate(double *G, double *V, uint32_t l, uint32_t p, uint32_t q)
{
    double gpq = G[(size_t)p * l + q];
    double theta = (G[(size_t)q * l + q] - G[(size_t)p * l + p]) / (2 * gpq);
    double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
    double c = 1 / sqrt(t * t + 1), s = t * c;
    for (uint32_t k = 0; k < l; k++) { /* columns p, q */
        double gkp = G[(size_t)k * l + p], gkq = G[(size_t)k * l + q];
        G[(size_t)k * l + p] = c * gkp - s * gkq;
        G[(size_t)k * l + q] = s * gkp + c * gkq;
    }
    for (uint32_t k = 0; k < l; k++) { /* rows p, q */
        double gpk = G[(size_t)p * l + k], gqk = G[(size_t)q * l + k];
        G[(size_t)p * l + k] = c * gpk - s * gqk;
        G[(size_t)q * l + k] = s * gpk + c * gqk;
    }
    for (uint32_t k = 0; k < l; k++) {
        double vkp = V[(size_t)k * l + p], vkq = V[(size_t)k * l + q];
        V[(size_t)k * l + p] = c * vkp - s * vkq;
        V[(size_t)k * l + q] = s * vkp + c * vkq;
    }
}

static double off_norm(const double *G, uint32_t l, double *total)
{
    double off = 0, all = 0;
    for (uint32_t i = 0; i < l; i++)
        for (uint32_t j = 0; j < l; j++) {
            double g = G[(size_t)i * l + j] * G[(size_t)i * l + j];
            all += g;
            off += i != j ? g : 0;
        }
    *total = all;
    return off;
}

/* Cyclic Jacobi: slow in theory (O(l^3) a sweep) but l <= a few hundred,
 * it is accurate for the small eigenvalues, and converges in ~10 sweeps. */
int fd_la_sym_eig(double *G, uint32_t l, double *evals, double *evecs)
{
    memset(evecs, 0, (size_t)l * l * sizeof *evecs);
    for (uint32_t i = 0; i < l; i++)
        evecs[(size_t)i * l + i] = 1;
    for (int sweep = 0; sweep < 50; sweep++) {
        double total;
        if (off_norm(G, l, &total) <= 1e-24 * total)
            break;
        for (uint32_t p = 0; p < l; p++)
            for (uint32_t q = p + 1; q < l; q++)
                if (G[(size_t)p * l + q] != 0)
                    rotate(G, evecs, l, p, q);
    }
    uint32_t *order = fd_malloc((size_t)l * sizeof *order);
    double *tmp = fd_malloc((size_t)l * l * sizeof *tmp);
    if (!order || !tmp) {
        fd_free(order);
        fd_free(tmp);
        return FD_ENOMEM;
    }
    for (uint32_t i = 0; i < l; i++) /* insertion sort: l is small */
        for (uint32_t j = order[i] = i; j > 0; j--) {
            if (G[(size_t)order[j] * l + order[j]] <= G[(size_t)order[j - 1] * l + order[j - 1]])
                break;
            uint32_t s = order[j];
            order[j] = order[j - 1];
            order[j - 1] = s;
        }
    memcpy(tmp, evecs, (size_t)l * l * sizeof *tmp);
    for (uint32_t j = 0; j < l; j++) {
        evals[j] = G[(size_t)order[j] * l + order[j]];
        for (uint32_t i = 0; i < l; i++)
            evecs[(size_t)i * l + j] = tmp[(size_t)i * l + order[j]];
    }
    fd_free(order);
    fd_free(tmp);
    return FD_OK;
}

/* ---- randomized SVD -------------------------------------------------------- */

static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Gaussian columns 0..l-1 by Box-Muller; deterministic for the seed. */
static void gaussian(float *X, size_t rows, uint32_t l, uint32_t ls, uint64_t seed)
{
    memset(X, 0, rows * ls * sizeof *X);
    uint64_t s = seed;
    for (size_t r = 0; r < rows; r++)
        for (uint32_t c = 0; c < l; c += 2) {
            double u1 = ((double)(next_u64(&s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
            double u2 = (double)(next_u64(&s) >> 11) * (1.0 / 9007199254740992.0);
            double rad = sqrt(-2 * log(u1)), ang = 2 * M_PI * u2;
            X[r * ls + c] = (float)(rad * cos(ang));
            if (c + 1 < l)
                X[r * ls + c + 1] = (float)(rad * sin(ang));
        }
}

/* v (n_cols x k) = Z U S^-1, the right singular vectors, where A^T Q = Z
 * and Z^T Z = U S^2 U^T. Directions with a singular value below 1e-6 of
 * the largest are numerically absent: their column stays zero. */
static int right_vectors(const float *Z, uint32_t n_cols, uint32_t l, uint32_t ls, uint32_t k,
                         float *v, float *sigma)
{
    double *G = fd_malloc((size_t)l * l * sizeof *G);
    double *U = fd_malloc((size_t)l * l * sizeof *U);
    double *ev = fd_malloc((size_t)l * sizeof *ev);
    uint32_t ks = (k + LA_LANES - 1) / LA_LANES * LA_LANES;
    float *part = fd_malloc((size_t)l * ls * sizeof *part);
    float *W = fd_calloc((size_t)l * ks, sizeof *W);
    float *t = fd_malloc((size_t)ks * sizeof *t);
    int rc = G && U && ev && part && W && t ? FD_OK : FD_ENOMEM;
    if (!rc) {
        gram(Z, n_cols, l, ls, part, G);
        rc = fd_la_sym_eig(G, l, ev, U);
    }
    for (uint32_t j = 0; j < k && !rc; j++) {
        double s = j < l && ev[j] > 0 ? sqrt(ev[j]) : 0;
        sigma[j] = s > 1e-6 * sqrt(ev[0] > 0 ? ev[0] : 0) ? (float)s : 0.0f;
        for (uint32_t a = 0; a < l && sigma[j] > 0; a++)
            W[(size_t)a * ks + j] = (float)(U[(size_t)a * l + j] / s);
    }
    for (uint32_t r = 0; r < n_cols && !rc; r++) {
        memset(t, 0, ks * sizeof *t);
        for (uint32_t a = 0; a < l; a++)
            if (Z[(size_t)r * ls + a] != 0)
                fd_la_axpy(t, Z[(size_t)r * ls + a], W + (size_t)a * ks, ks);
        memcpy(v + (size_t)r * k, t, k * sizeof *t);
    }
    fd_free(G);
    fd_free(U);
    fd_free(ev);
    fd_free(part);
    fd_free(W);
    fd_free(t);
    return rc;
}

/* Subspace iteration on the m-side: Y = A Om, then q times Y = A (A^T Y),
 * orthonormalizing after every product so cond(Y) stays ~ s1/sl rather
 * than (s1/sl)^(2q+1), which float could not hold. Om is n_cols x l,
 * l = k + oversample capped by the matrix's smaller side. */
int fd_la_rsvd(const fd_csr *A, uint32_t k, uint32_t oversample, int power_iters, uint64_t seed,
               float **v, float *sigma)
{
    *v = NULL;
    uint32_t side = A->m < A->n_cols ? A->m : A->n_cols;
    uint32_t l = k + oversample < side ? k + oversample : side;
    if (l == 0)
        l = 1;
    uint32_t ls = (l + LA_LANES - 1) / LA_LANES * LA_LANES;
    float *Z = fd_malloc((size_t)(A->n_cols ? A->n_cols : 1) * ls * sizeof *Z);
    float *Y = fd_malloc((size_t)(A->m ? A->m : 1) * ls * sizeof *Y);
    float *out = fd_calloc((size_t)(A->n_cols ? A->n_cols : 1) * k, sizeof *out);
    int rc = Z && Y && out ? FD_OK : FD_ENOMEM;
    if (!rc) {
        gaussian(Z, A->n_cols, l, ls, seed);
        fd_la_mul(A, Z, ls, Y);
        rc = fd_la_orthonormalize(Y, A->m, l, ls, power_iters ? 1 : 2);
    }
    for (int it = 0; it < power_iters && !rc; it++) {
        fd_la_mul_t(A, Y, ls, Z);
        rc = fd_la_orthonormalize(Z, A->n_cols, l, ls, 1);
        if (!rc) {
            fd_la_mul(A, Z, ls, Y);
            rc = fd_la_orthonormalize(Y, A->m, l, ls, it + 1 == power_iters ? 2 : 1);
        }
    }
    if (!rc) {
        fd_la_mul_t(A, Y, ls, Z); /* Z = A^T Q = B^T */
        rc = right_vectors(Z, A->n_cols, l, ls, k, out, sigma);
    }
    fd_free(Z);
    fd_free(Y);
    if (rc) {
        fd_free(out);
        return rc;
    }
    *v = out;
    return FD_OK;
}
