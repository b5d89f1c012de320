/*
 * vk_weights.c: the weights cache of a GPU context. A kernel's prepare() uploads a
 * constant under (key, variant); sessions of the same model on the same GPU (same key,
 * variant and fp16-storage choice) get the same device copy, reference-counted, freed
 * when the last session releases it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "backends/vulkan/vk_internal.h"
#include "base/error.h"
#include "base/tensor_impl.h"

/* The cached weight for (key, variant, fp16) with a new reference, or NULL. */
static lg_vk_weight *find_ref(lg_vk_ctx *c, const void *key, uint32_t variant, bool fp16)
{
    lg_vk_weight *w;
    for (w = c->weights; w; w = w->next)
        if (w->key == key && w->variant == variant && w->fp16 == fp16) {
            w->refs++;
            break;
        }
    return w;
}

typedef struct upload_src {
    const void *bytes;  /* raw bytes, or */
    const float *f32;   /* floats to store as fp16 */
    int64_t n;
} upload_src;

static int upload(lg_device *d, const void *key, uint32_t variant, const upload_src *src, uint64_t bytes,
                  lg_vk_weight **out)
{
    *out = NULL;
    lg_vk_ctx *c = d->ctx;
    LG_CHECK(lg_vk_check_validation(d));
    pthread_mutex_lock(&c->lock);
    lg_vk_weight *w = find_ref(c, key, variant, d->fp16_storage);
    pthread_mutex_unlock(&c->lock);
    if (w) {
        *out = w;
        return LG_OK;
    }
    char what[320];
    if (d->preparing) snprintf(what, sizeof(what), "weights of node '%s'", d->preparing);
    else snprintf(what, sizeof(what), "weights");
    w = calloc(1, sizeof(*w));
    if (!w) return lg_error(LG_E_NOMEM, "vulkan: out of host memory for %s", what);
    int rc = lg_vk_alloc(c, bytes, false, what, &w->buf);
    const void *data = src->bytes;
    uint16_t *half = NULL;
    if (rc == LG_OK && src->f32) {
        half = malloc((size_t)src->n * 2 + 2);
        if (!half) rc = lg_error(LG_E_NOMEM, "vulkan: out of host memory converting %s to fp16", what);
        for (int64_t i = 0; half && i < src->n; i++) half[i] = lg_float_to_half(src->f32[i]);
        data = half;
    }
    if (rc == LG_OK) rc = lg_vk_upload_sync(c, w->buf, 0, data, bytes);
    free(half);
    if (rc != LG_OK) {
        lg_vk_free(c, w->buf);
        free(w);
        return rc;
    }
    w->key = key;
    w->variant = variant;
    w->fp16 = d->fp16_storage;
    w->bytes = bytes;
    w->refs = 1;
    pthread_mutex_lock(&c->lock);
    /* Another session may have uploaded the same weight meanwhile: keep the first. */
    lg_vk_weight *other = find_ref(c, key, variant, d->fp16_storage);
    if (!other) {
        w->next = c->weights;
        c->weights = w;
    }
    pthread_mutex_unlock(&c->lock);
    if (other) {
        lg_vk_free(c, w->buf);
        free(w);
        w = other;
    }
    *out = w;
    return LG_OK;
}

int lg_vk_weights_upload(lg_device *d, const void *key, uint32_t variant, const void *data, uint64_t bytes,
                         lg_vk_weight **out)
{
    upload_src src = { .bytes = data };
    return upload(d, key, variant, &src, bytes, out);
}

int lg_vk_weights_upload_f32(lg_device *d, const void *key, uint32_t variant, const float *data, int64_t n,
                             lg_vk_weight **out)
{
    LG_ASSERT(n >= 0);
    upload_src src = { .bytes = data, .f32 = d->fp16_storage ? data : NULL, .n = n };
    return upload(d, key, variant, &src, (uint64_t)n * (d->fp16_storage ? 2 : 4), out);
}

void lg_vk_weights_release(lg_device *d, lg_vk_weight *w)
{
    if (!w) return;
    lg_vk_ctx *c = d->ctx;
    pthread_mutex_lock(&c->lock);
    LG_ASSERT(w->refs > 0);
    bool last = --w->refs == 0;
    if (last)
        for (lg_vk_weight **p = &c->weights; *p; p = &(*p)->next)
            if (*p == w) {
                *p = w->next;
                break;
            }
    pthread_mutex_unlock(&c->lock);
    if (last) {
        lg_vk_free(c, w->buf);
        free(w);
    }
}

lg_vk_binding lg_vk_weight_binding(const lg_vk_weight *w) { return (lg_vk_binding){ w->buf, 0, w->bytes }; }

void lg_vk_weights_fini(lg_vk_ctx *c)
{
    /* Sessions release their weights before the context closes; anything left leaks a
     * reference: free it with the context. */
    while (c->weights) {
        lg_vk_weight *w = c->weights;
        c->weights = w->next;
        lg_vk_free(c, w->buf);
        free(w);
    }
}
