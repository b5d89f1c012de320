/*
 * kernel_util.c: helpers for operator implementations: output shapes and allocation,
 * numpy broadcasting, axis normalisation.
 */
#include <stdio.h>

#include "runtime/kernel.h"

int lg_kout_shape(lg_kctx *c, int i, lg_dtype dt, int ndim, const int64_t *dims)
{
    if (i >= c->n_outputs || !c->outputs[i]) return LG_OK;
    if (ndim < 0 || ndim > LG_MAX_DIMS)
        return lg_error(LG_E_LIMIT, "output %d: rank %d outside 0..%d", i, ndim, LG_MAX_DIMS);
    for (int k = 0; k < ndim; k++)
        if (dims[k] < 0) return lg_error(LG_E_SHAPE, "output %d: negative dimension %lld", i, (long long)dims[k]);
    lg_tensor *t = c->outputs[i];
    lg_tensor_clear(t);
    t->dtype = dt;
    t->ndim = ndim;
    for (int k = 0; k < ndim; k++) t->dims[k] = dims[k];
    return LG_OK;
}

lg_tensor *lg_kout_alloc(lg_kctx *c, int i, lg_dtype dt, int ndim, const int64_t *dims)
{
    static _Thread_local lg_tensor scratch;
    if (i >= c->n_outputs || !c->outputs[i]) {
        /* Unused output: give the kernel somewhere to write. */
        lg_tensor_clear(&scratch);
        if (lg_tensor_reset(&scratch, dt, ndim, dims) != LG_OK) return NULL;
        return &scratch;
    }
    if (lg_tensor_reset(c->outputs[i], dt, ndim, dims) != LG_OK) return NULL;
    return c->outputs[i];
}

int lg_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out)
{
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int ia = i - (n - na), ib = i - (n - nb);
        int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
        if (da == db || db == 1) out[i] = da;
        else if (da == 1) out[i] = db;
        else {
            char sa[256], sb[256];
            return lg_error(LG_E_SHAPE, "shapes %s and %s cannot be broadcast",
                            lg_dims_str(na, a, sa, sizeof(sa)), lg_dims_str(nb, b, sb, sizeof(sb)));
        }
    }
    *nout = n;
    return LG_OK;
}

void lg_broadcast_strides(int n, const int64_t *dims, int nout, int64_t *strides)
{
    int64_t s = 1;
    for (int i = nout - 1; i >= 0; i--) {
        int k = i - (nout - n);
        if (k < 0 || dims[k] == 1) {
            strides[i] = 0;
            if (k >= 0) s *= dims[k];
        } else {
            strides[i] = s;
            s *= dims[k];
        }
    }
}

int lg_norm_axis(int64_t axis, int rank, int *out)
{
    if (axis < -rank || axis >= (rank > 0 ? rank : 1))
        return lg_error(LG_E_INVALID_MODEL, "axis %lld out of range for rank %d", (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return LG_OK;
}
