/*
 * tensor_minifloat.c: the float8 family (e4m3fn, e4m3fnuz, e5m2, e5m2fnuz, e8m0) and
 * float4e2m1 to and from float, with ONNX's rounding (nearest even) and saturation rules
 * (Cast-25's tables), and the sub-byte integers (int4, uint4, int2, uint2) wrapped into
 * their range. In memory every one of these types takes one byte per element; only files
 * pack the 4- and 2-bit ones (see tensor_proto.c).
 */
#include <math.h>

#include "base/error.h"
#include "base/tensor_impl.h"

/* One binary minifloat format. nan_code: the code of a positive NaN (-1: none);
 * fnuz: 0x80 is the only NaN and there is no negative zero. */
typedef struct minifloat {
    lg_dtype dt;
    int ebits, mbits, bias;
    bool has_inf, fnuz;
    int nan_code;
    double max; /* largest finite value */
} minifloat;

static const minifloat formats[] = {
    { LG_FLOAT8E4M3FN, 4, 3, 7, false, false, 0x7f, 448.0 },
    { LG_FLOAT8E4M3FNUZ, 4, 3, 8, false, true, 0x80, 240.0 },
    { LG_FLOAT8E5M2, 5, 2, 15, true, false, 0x7f, 57344.0 },
    { LG_FLOAT8E5M2FNUZ, 5, 2, 16, false, true, 0x80, 57344.0 },
    { LG_FLOAT4E2M1, 2, 1, 1, false, false, -1, 6.0 },
};

static const minifloat *format_of(lg_dtype dt)
{
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (formats[i].dt == dt) return &formats[i];
    return NULL;
}

bool lg_dtype_is_minifloat(lg_dtype dt) { return format_of(dt) != NULL || dt == LG_FLOAT8E8M0; }

float lg_minifloat_to_float(lg_dtype dt, uint8_t code)
{
    if (dt == LG_FLOAT8E8M0) return code == 0xff ? NAN : ldexpf(1.0f, (int)code - 127);
    const minifloat *f = format_of(dt);
    LG_ASSERT(f != NULL);
    int nbits = 1 + f->ebits + f->mbits;
    code &= (uint8_t)((1u << nbits) - 1);
    if (f->nan_code >= 0) {
        if (f->fnuz && code == 0x80) return NAN;
        if (!f->fnuz && (code & 0x7f) == f->nan_code && !f->has_inf) return NAN;
    }
    int sign = (code >> (nbits - 1)) & 1;
    int e = (code >> f->mbits) & ((1 << f->ebits) - 1);
    int m = code & ((1 << f->mbits) - 1);
    float v;
    if (f->has_inf && e == (1 << f->ebits) - 1) {
        v = m ? NAN : INFINITY;
    } else if (e == 0) {
        v = ldexpf((float)m, 1 - f->bias - f->mbits);
    } else {
        v = ldexpf((float)(m + (1 << f->mbits)), e - f->bias - f->mbits);
    }
    return sign ? -v : v;
}

/* The code of x rounded (nearest even) to the format, or *over when the rounded
 * magnitude exceeds the largest finite value. */
static uint8_t encode_finite(const minifloat *f, double ax, int sign, bool *over)
{
    int nbits = 1 + f->ebits + f->mbits;
    uint8_t sbit = (uint8_t)(sign << (nbits - 1));
    *over = false;
    if (ax == 0) return f->fnuz ? 0 : sbit;
    int emin = 1 - f->bias; /* exponent of the smallest normal */
    int ex;
    frexp(ax, &ex);
    int e = ex - 1; /* ax = 1.m * 2^e */
    if (e < emin) e = emin;
    double q = nearbyint(ldexp(ax, f->mbits - e)); /* units of 2^(e - mbits), even ties */
    double v = ldexp(q, e - f->mbits);
    if (v > f->max) {
        *over = true;
        return 0;
    }
    if (q == 0) return f->fnuz ? 0 : sbit;
    if (q >= ldexp(1.0, f->mbits + 1)) { /* rounding carried into the next binade */
        q /= 2;
        e++;
    }
    int efield = q < ldexp(1.0, f->mbits) ? 0 : e + f->bias;
    int mfield = (int)q & ((1 << f->mbits) - 1);
    return (uint8_t)(sbit | (efield << f->mbits) | mfield);
}

static uint8_t max_code(const minifloat *f, int sign)
{
    bool over;
    uint8_t c = encode_finite(f, f->max, 0, &over);
    int nbits = 1 + f->ebits + f->mbits;
    return (uint8_t)(c | (sign << (nbits - 1)));
}

uint8_t lg_float_to_minifloat(lg_dtype dt, float x, bool saturate)
{
    const minifloat *f = format_of(dt);
    LG_ASSERT(f != NULL);
    int sign = signbit(x) ? 1 : 0;
    if (isnan(x)) {
        if (f->nan_code < 0) return 0x8; /* float4e2m1 has no NaN: the reference writes -0 */
        return (uint8_t)(f->fnuz ? 0x80 : (f->nan_code | (sign << 7)));
    }
    bool over = isinf(x);
    uint8_t code = over ? 0 : encode_finite(f, fabs((double)x), sign, &over);
    if (!over) return code;
    if (saturate || f->nan_code < 0) return max_code(f, sign);
    if (f->has_inf) return (uint8_t)((sign << 7) | 0x7c); /* e5m2: infinity */
    return (uint8_t)(f->fnuz ? 0x80 : (f->nan_code | (sign << 7)));
}

uint8_t lg_float_to_e8m0(float x, bool saturate, lg_round_mode mode)
{
    if (isnan(x)) return 0xff;
    if (isinf(x)) return saturate ? 0xfe : 0xff;
    double ax = fabs((double)x);
    if (ax == 0) return saturate ? 0 : 0xff;
    int ex;
    double fr = frexp(ax, &ex); /* ax = (2 fr) 2^(ex - 1), 2 fr in [1, 2) */
    int e = ex - 1;
    double m = 2 * fr;
    if ((mode == LG_ROUND_UP && m > 1) || (mode == LG_ROUND_NEAREST && m >= 1.5)) e++;
    int code = e + 127;
    if (code > 254) return saturate ? 0xfe : 0xff;
    if (code < 0) return saturate ? 0 : 0xff;
    return (uint8_t)code;
}

int64_t lg_wrap_subbyte(lg_dtype dt, int64_t v)
{
    switch (dt) {
    case LG_INT4: return (int64_t)(((uint64_t)v & 0xf) ^ 0x8) - 0x8;
    case LG_UINT4: return (int64_t)((uint64_t)v & 0xf);
    case LG_INT2: return (int64_t)(((uint64_t)v & 0x3) ^ 0x2) - 0x2;
    case LG_UINT2: return (int64_t)((uint64_t)v & 0x3);
    default: return v;
    }
}

int lg_dtype_bits(lg_dtype dt)
{
    switch (dt) {
    case LG_INT4: case LG_UINT4: case LG_FLOAT4E2M1: return 4;
    case LG_INT2: case LG_UINT2: return 2;
    default: return (int)lg_dtype_size(dt) * 8;
    }
}
