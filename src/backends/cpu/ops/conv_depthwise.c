/*
 * conv_depthwise.c: depthwise 2-D convolution, computed directly plane by plane.
 *
 * Output channel m reads input channel m / (M / group). Each output row is the sum of
 * kernel-height x kernel-width shifted input rows scaled by one weight (an axpy per
 * tap, over the output columns whose input column is inside the image), started from
 * the bias; the fused activation runs on the finished row. Planes are spread over threads.
 */
#include "backends/cpu/ops/conv_depthwise.h"
#include "base/cpu.h"

bool lg_conv_depthwise_applies(const lg_conv_geom *g)
{
    return g->nd == 2 && g->group > 1 && g->in_c == g->group;
}

static void axpy_ref(float *y, const float *x, float w, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] += w * x[i];
}

/* Output columns [lo, hi) whose input column ox*s + off lies in [0, in). */
static void columns_inside(int64_t off, int64_t s, int64_t in, int64_t out, int64_t *lo, int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = in - off <= 0 ? 0 : (in - 1 - off) / s + 1;
    *lo = a < out ? a : out;
    *hi = b < *lo ? *lo : (b < out ? b : out);
}

typedef struct dw_job {
    const lg_conv_dw_args *a;
    void (*axpy)(float *y, const float *x, float w, int64_t n);
} dw_job;

static void dw_row(const dw_job *job, const float *x, const float *w, float *yr, int64_t oy)
{
    const lg_conv_geom *g = job->a->g;
    int64_t IH = g->in[0], IW = g->in[1], OW = g->out[1], KH = g->kernel[0], KW = g->kernel[1];
    int64_t sx = g->stride[1];
    for (int64_t ky = 0; ky < KH; ky++) {
        int64_t iy = oy * g->stride[0] - g->pad[0] + ky * g->dil[0];
        if (iy < 0 || iy >= IH) continue;
        const float *xr = x + iy * IW;
        for (int64_t kx = 0; kx < KW; kx++) {
            float wv = w[ky * KW + kx];
            int64_t off = kx * g->dil[1] - g->pad[1], lo, hi;
            columns_inside(off, sx, IW, OW, &lo, &hi);
            if (sx == 1) {
                job->axpy(yr + lo, xr + lo + off, wv, hi - lo);
            } else {
                for (int64_t ox = lo; ox < hi; ox++) yr[ox] += wv * xr[ox * sx + off];
            }
        }
    }
}

static void dw_planes(void *arg, int64_t begin, int64_t end)
{
    const dw_job *job = arg;
    const lg_conv_dw_args *a = job->a;
    const lg_conv_geom *g = a->g;
    int64_t mult = g->out_c / g->group, OH = g->out[0], OW = g->out[1];
    for (int64_t p = begin; p < end; p++) {
        int64_t n = p / g->out_c, m = p % g->out_c;
        const float *x = a->x + (n * g->in_c + m / mult) * g->in_size;
        const float *w = a->w + m * g->kernel_size;
        float *y = a->y + p * g->out_size;
        float bias = a->bias ? a->bias[m] : 0.0f;
        for (int64_t oy = 0; oy < OH; oy++) {
            float *yr = y + oy * OW;
            for (int64_t ox = 0; ox < OW; ox++) yr[ox] = bias;
            dw_row(job, x, w, yr, oy);
            if (a->act) lg_act_apply(a->act, yr, OW);
        }
    }
}

void lg_conv_depthwise_f32(lg_threadpool *pool, const lg_conv_dw_args *a)
{
    dw_job job = { a, (lg_cpu()->avx2 && lg_cpu()->fma) ? lg_conv_dw_axpy_avx2 : axpy_ref };
    int64_t plane_work = a->g->out_size * a->g->kernel_size;
    int64_t min_planes = plane_work > 0 ? 1 + 16384 / plane_work : 1;
    lg_parallel_for(pool, a->g->batch * a->g->out_c, min_planes, dw_planes, &job);
}
