/*
 * tensor_copy.c: dtype-generic copies for the data-movement operators (see tensor_copy.h).
 *
 * lg_copy_nd simplifies its problem first (drops size-1 dims, merges dims that are
 * contiguous in both source and destination), then picks one of three inner kernels:
 *   ROW   innermost dim contiguous on both sides: memcpy per row;
 *   TILE  destination contiguous innermost, source contiguous along another dim (a
 *         transpose such as NCHW->NHWC): 32x32 blocks so both sides stay in cache;
 *   ELEM  anything else (steps, broadcasting): a strided loop per element size.
 * The outer dims (and the blocks of the TILE dim) are split over the thread pool.
 * Strings are duplicated one by one on the calling thread.
 */
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "backends/cpu/ops/tensor_copy.h"

#define TILE 32    /* TILE mode: columns per block */
#define TILE_B 128 /* TILE mode: rows (along the source-contiguous dim) per work item */
#define CHUNK_ELEMS 16384 /* elements worth handing to a thread */

enum copy_mode { MODE_ROW, MODE_TILE, MODE_ELEM };

typedef struct copy_plan {
    lg_dtype dt;
    size_t es;
    int nd;
    int64_t dims[LG_COPY_MAX_DIMS];
    int64_t ds[LG_COPY_MAX_DIMS], ss[LG_COPY_MAX_DIMS]; /* dst / src strides, elements */
    char *dst;
    const char *src;
    enum copy_mode mode;
    int tile_dim;          /* TILE: the dim along which src is contiguous */
    int n_outer;
    int outer[LG_COPY_MAX_DIMS]; /* dims walked by the outer loop, slowest first */
    int64_t n_blocks;      /* TILE: blocks of tile_dim per outer position, else 1 */
    int failed;            /* string duplication ran out of memory */
} copy_plan;

static int dup_string(char **dst, const char *src)
{
    char *s = strdup(src ? src : "");
    if (!s) return lg_error(LG_E_NOMEM, "out of memory duplicating a string");
    free(*dst);
    *dst = s;
    return LG_OK;
}

int lg_copy_elems(lg_dtype dt, void *dst, const void *src, int64_t n)
{
    if (n <= 0) return LG_OK;
    if (dt == LG_STRING) {
        char **d = dst;
        char *const *s = src;
        for (int64_t i = 0; i < n; i++) LG_CHECK(dup_string(&d[i], s[i]));
        return LG_OK;
    }
    if (lg_dtype_is_container(dt)) { /* sequences, optionals: deep copies of the elements */
        lg_tensor **d = dst;
        lg_tensor *const *s = src;
        for (int64_t i = 0; i < n; i++) {
            lg_tensor_free(d[i]);
            d[i] = NULL;
            if (s[i]) LG_CHECK(lg_tensor_clone(s[i], &d[i]));
        }
        return LG_OK;
    }
    memmove(dst, src, (size_t)n * lg_dtype_size(dt));
    return LG_OK;
}

int lg_fill_elems(lg_dtype dt, void *dst, const void *value, int64_t n)
{
    size_t es = lg_dtype_size(dt);
    char *d = dst;
    if (n <= 0) return LG_OK;
    if (dt == LG_STRING) {
        for (int64_t i = 0; i < n; i++) LG_CHECK(dup_string(&((char **)dst)[i], *(char *const *)value));
        return LG_OK;
    }
    if (es == 1) {
        memset(d, *(const unsigned char *)value, (size_t)n);
        return LG_OK;
    }
    /* Doubling copies: log2(n) memcpy calls. */
    memcpy(d, value, es);
    for (int64_t done = 1; done < n;) {
        int64_t k = done < n - done ? done : n - done;
        memcpy(d + (size_t)done * es, d, (size_t)k * es);
        done += k;
    }
    return LG_OK;
}

int lg_copy_tensor(lg_tensor *dst, const lg_tensor *src)
{
    int64_t n = lg_tensor_numel_(src);
    if (lg_tensor_numel_(dst) != n)
        return lg_error(LG_E_RUNTIME, "copy of %lld elements into a tensor of %lld", (long long)n,
                        (long long)lg_tensor_numel_(dst));
    if (dst->data == src->data) return LG_OK;
    return lg_copy_elems(src->dtype, dst->data, src->data, n);
}

/* One element of es bytes, strided. */
#define STRIDED_LOOP(T) \
    do { \
        T *d_ = (T *)dst; \
        const T *s_ = (const T *)src; \
        for (int64_t i_ = 0; i_ < n; i_++) d_[i_ * dst_step] = s_[i_ * src_step]; \
    } while (0)

static void copy_strided(copy_plan *p, char *dst, int64_t dst_step, const char *src, int64_t src_step, int64_t n)
{
    switch (p->es) {
    case 1: STRIDED_LOOP(uint8_t); break;
    case 2: STRIDED_LOOP(uint16_t); break;
    case 4: STRIDED_LOOP(uint32_t); break;
    case 8: STRIDED_LOOP(uint64_t); break;
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + i * dst_step * (int64_t)p->es, src + i * src_step * (int64_t)p->es, p->es);
    }
}

static void copy_strings(copy_plan *p, char *dst, int64_t dst_step, const char *src, int64_t src_step, int64_t n)
{
    char **d = (char **)dst;
    char *const *s = (char *const *)src;
    for (int64_t i = 0; i < n; i++)
        if (dup_string(&d[i * dst_step], s[i * src_step]) != LG_OK) p->failed = 1;
}

#define TILE_LOOP(T) \
    do { \
        T *d_ = (T *)dst; \
        const T *s_ = (const T *)src; \
        for (int64_t a0 = 0; a0 < na; a0 += TILE) { \
            int64_t a1 = a0 + TILE < na ? a0 + TILE : na; \
            for (int64_t b = b0; b < b1; b++) \
                for (int64_t a = a0; a < a1; a++) d_[b * db + a] = s_[b + a * sa]; \
        } \
    } while (0)

#if defined(__SSE2__)
/* 4-byte elements: 4x4 blocks transposed in registers; the edges fall back to scalars. */
static void copy_tile_4x4(uint32_t *dst, const uint32_t *src, int64_t na, int64_t sa, int64_t db, int64_t b0, int64_t b1)
{
    int64_t b4 = b0 + ((b1 - b0) & ~(int64_t)3), na4 = na & ~(int64_t)3;
    for (int64_t a0 = 0; a0 < na4; a0 += TILE) {
        int64_t a1 = a0 + TILE < na4 ? a0 + TILE : na4;
        for (int64_t b = b0; b < b4; b += 4)
            for (int64_t a = a0; a < a1; a += 4) {
                const uint32_t *s = src + b + a * sa;
                __m128 r0 = _mm_castsi128_ps(_mm_loadu_si128((const __m128i *)s));
                __m128 r1 = _mm_castsi128_ps(_mm_loadu_si128((const __m128i *)(s + sa)));
                __m128 r2 = _mm_castsi128_ps(_mm_loadu_si128((const __m128i *)(s + 2 * sa)));
                __m128 r3 = _mm_castsi128_ps(_mm_loadu_si128((const __m128i *)(s + 3 * sa)));
                _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
                uint32_t *d = dst + b * db + a;
                _mm_storeu_si128((__m128i *)d, _mm_castps_si128(r0));
                _mm_storeu_si128((__m128i *)(d + db), _mm_castps_si128(r1));
                _mm_storeu_si128((__m128i *)(d + 2 * db), _mm_castps_si128(r2));
                _mm_storeu_si128((__m128i *)(d + 3 * db), _mm_castps_si128(r3));
            }
    }
    for (int64_t b = b0; b < b1; b++) /* edges: columns past na4, rows past b4 */
        for (int64_t a = b < b4 ? na4 : 0; a < na; a++) dst[b * db + a] = src[b + a * sa];
}
#endif

/* TILE kernel: rows b in [b0, b1) of the destination (stride db), each of na elements
 * read from the source with stride sa; source contiguous along b. */
static void copy_tile(copy_plan *p, char *dst, const char *src, int64_t b0, int64_t b1)
{
    int last = p->nd - 1;
    int64_t na = p->dims[last], sa = p->ss[last], db = p->ds[p->tile_dim];
    switch (p->es) {
    case 1: TILE_LOOP(uint8_t); break;
    case 2: TILE_LOOP(uint16_t); break;
#if defined(__SSE2__)
    case 4: copy_tile_4x4((uint32_t *)dst, (const uint32_t *)src, na, sa, db, b0, b1); break;
#else
    case 4: TILE_LOOP(uint32_t); break;
#endif
    case 8: TILE_LOOP(uint64_t); break;
    default:
        for (int64_t b = b0; b < b1; b++)
            copy_strided(p, dst + b * db * (int64_t)p->es, 1, src + b * (int64_t)p->es, sa, na);
    }
}

static void run_inner(copy_plan *p, int64_t doff, int64_t soff, int64_t block)
{
    int last = p->nd - 1;
    int64_t es = (int64_t)p->es, n = p->dims[last];
    char *dst = p->dst + doff * es;
    const char *src = p->src + soff * es;
    if (p->dt == LG_STRING) {
        if (p->mode == MODE_TILE) {
            int64_t b1 = (block + 1) * TILE_B < p->dims[p->tile_dim] ? (block + 1) * TILE_B : p->dims[p->tile_dim];
            for (int64_t b = block * TILE_B; b < b1; b++)
                copy_strings(p, dst + b * p->ds[p->tile_dim] * es, 1, src + b * es, p->ss[last], n);
        } else {
            copy_strings(p, dst, p->ds[last], src, p->ss[last], n);
        }
        return;
    }
    switch (p->mode) {
    case MODE_ROW: memcpy(dst, src, (size_t)(n * es)); break;
    case MODE_ELEM: copy_strided(p, dst, p->ds[last], src, p->ss[last], n); break;
    case MODE_TILE: {
        int64_t b0 = block * TILE_B, b1 = b0 + TILE_B < p->dims[p->tile_dim] ? b0 + TILE_B : p->dims[p->tile_dim];
        copy_tile(p, dst, src, b0, b1);
        break;
    }
    }
}

/* Work items [begin, end): outer positions times blocks. */
static void copy_range(void *arg, int64_t begin, int64_t end)
{
    copy_plan *p = arg;
    int64_t idx[LG_COPY_MAX_DIMS], doff = 0, soff = 0;
    int64_t q = begin / p->n_blocks, block = begin % p->n_blocks;
    for (int k = p->n_outer - 1; k >= 0; k--) {
        int d = p->outer[k];
        idx[k] = q % p->dims[d];
        q /= p->dims[d];
        doff += idx[k] * p->ds[d];
        soff += idx[k] * p->ss[d];
    }
    for (int64_t it = begin; it < end; it++) {
        run_inner(p, doff, soff, block);
        if (++block < p->n_blocks) continue;
        block = 0;
        for (int k = p->n_outer - 1; k >= 0; k--) {
            int d = p->outer[k];
            doff += p->ds[d];
            soff += p->ss[d];
            if (++idx[k] < p->dims[d]) break;
            doff -= p->ds[d] * p->dims[d];
            soff -= p->ss[d] * p->dims[d];
            idx[k] = 0;
        }
    }
}

/* Drops size-1 dims and merges neighbours that are contiguous on both sides.
 * Returns false when there is nothing to copy (a zero dim). */
static bool simplify(copy_plan *p, int nd, const int64_t *dims, const int64_t *ds, const int64_t *ss)
{
    p->nd = 0;
    for (int k = 0; k < nd; k++) {
        if (dims[k] == 0) return false;
        if (dims[k] == 1) continue;
        int m = p->nd - 1;
        if (m >= 0 && p->ds[m] == ds[k] * dims[k] && p->ss[m] == ss[k] * dims[k]) {
            p->dims[m] *= dims[k];
            p->ds[m] = ds[k];
            p->ss[m] = ss[k];
            continue;
        }
        p->dims[p->nd] = dims[k];
        p->ds[p->nd] = ds[k];
        p->ss[p->nd] = ss[k];
        p->nd++;
    }
    if (p->nd == 0) { /* a single element */
        p->dims[0] = 1;
        p->ds[0] = p->ss[0] = 1;
        p->nd = 1;
    }
    return true;
}

static void choose_mode(copy_plan *p)
{
    int last = p->nd - 1;
    p->mode = MODE_ELEM;
    p->tile_dim = -1;
    if (p->ds[last] == 1 && p->ss[last] == 1) {
        p->mode = MODE_ROW;
    } else if (p->ds[last] == 1) {
        for (int k = last - 1; k >= 0; k--)
            if (p->ss[k] == 1) {
                p->mode = MODE_TILE;
                p->tile_dim = k;
                break;
            }
    }
    p->n_outer = 0;
    for (int k = 0; k < last; k++)
        if (k != p->tile_dim) p->outer[p->n_outer++] = k;
    p->n_blocks = p->mode == MODE_TILE ? (p->dims[p->tile_dim] + TILE_B - 1) / TILE_B : 1;
}

int lg_copy_nd(lg_threadpool *pool, lg_dtype dt, int nd, const int64_t *dims, void *dst,
               const int64_t *dst_strides, const void *src, const int64_t *src_strides)
{
    copy_plan p;
    if (nd < 0 || nd > LG_COPY_MAX_DIMS)
        return lg_error(LG_E_LIMIT, "copy of rank %d exceeds %d dimensions", nd, LG_COPY_MAX_DIMS);
    p.dt = dt;
    p.es = lg_dtype_size(dt);
    if (p.es == 0) return lg_error(LG_E_UNSUPPORTED, "copy of element type %d", (int)dt);
    if (!simplify(&p, nd, dims, dst_strides, src_strides)) return LG_OK;
    p.dst = dst;
    p.src = src;
    p.failed = 0;
    choose_mode(&p);
    int64_t items = p.n_blocks;
    for (int k = 0; k < p.n_outer; k++) items *= p.dims[p.outer[k]];
    if (dt == LG_STRING) {
        copy_range(&p, 0, items);
        return p.failed ? lg_error(LG_E_NOMEM, "out of memory duplicating strings") : LG_OK;
    }
    int64_t per_item = p.dims[p.nd - 1] * (p.mode == MODE_TILE ? TILE_B : 1);
    int64_t min_chunk = per_item >= CHUNK_ELEMS ? 1 : CHUNK_ELEMS / per_item;
    if (items <= min_chunk) copy_range(&p, 0, items);
    else lg_parallel_for(pool, items, min_chunk, copy_range, &p);
    return LG_OK;
}

typedef struct rows_job {
    size_t row_bytes;
    char *dst;
    const char *src;
    const int64_t *src_rows;
    size_t es;
} rows_job;

static void copy_rows_range(void *arg, int64_t begin, int64_t end)
{
    rows_job *j = arg;
    for (int64_t r = begin; r < end; r++)
        memcpy(j->dst + (size_t)r * j->row_bytes, j->src + (size_t)j->src_rows[r] * j->es, j->row_bytes);
}

int lg_copy_rows(lg_threadpool *pool, lg_dtype dt, void *dst, const void *src, const int64_t *src_rows,
                 int64_t n_rows, int64_t row_len)
{
    if (n_rows <= 0 || row_len <= 0) return LG_OK;
    if (dt == LG_STRING) {
        for (int64_t r = 0; r < n_rows; r++)
            LG_CHECK(lg_copy_elems(dt, (char **)dst + r * row_len, (char *const *)src + src_rows[r], row_len));
        return LG_OK;
    }
    rows_job j = { 0 };
    j.es = lg_dtype_size(dt);
    j.row_bytes = (size_t)row_len * j.es;
    j.dst = dst;
    j.src = src;
    j.src_rows = src_rows;
    int64_t min_chunk = row_len >= CHUNK_ELEMS ? 1 : CHUNK_ELEMS / row_len;
    if (n_rows <= min_chunk) copy_rows_range(&j, 0, n_rows);
    else lg_parallel_for(pool, n_rows, min_chunk, copy_rows_range, &j);
    return LG_OK;
}

int lg_read_ints(const lg_tensor *t, const char *what, int64_t *buf, int max, int *n)
{
    int64_t count = lg_tensor_numel_(t);
    if (t->ndim > 1)
        return lg_error(LG_E_SHAPE, "%s must be a 1-D tensor, got rank %d", what, t->ndim);
    if (!lg_dtype_is_int(t->dtype))
        return lg_error(LG_E_SHAPE, "%s must be an integer tensor, got %s", what, lg_dtype_name(t->dtype));
    if (count > max)
        return lg_error(LG_E_SHAPE, "%s has %lld values, at most %d allowed", what, (long long)count, max);
    if (count > 0 && !t->data) return LG_E_DYNAMIC;
    for (int64_t i = 0; i < count; i++) buf[i] = lg_tensor_get_i64(t, i);
    *n = (int)count;
    return LG_OK;
}

int lg_read_int(const lg_tensor *t, const char *what, int64_t *v)
{
    if (lg_tensor_numel_(t) != 1 || t->ndim > 1)
        return lg_error(LG_E_SHAPE, "%s must be a scalar, got %d dims and %lld values", what, t->ndim,
                        (long long)lg_tensor_numel_(t));
    int n;
    return lg_read_ints(t, what, v, 1, &n);
}
