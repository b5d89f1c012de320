/*
 * tls.c: the REST API over https: reads the certificate (chain) and private key named by
 * --tls-cert and --tls-key into memory for libmicrohttpd's GnuTLS (MHD_USE_TLS with
 * MHD_OPTION_HTTPS_MEM_CERT/KEY, server.c), with one clear error for a file that is
 * missing, unreadable, empty or not PEM, or for one given without the other. The key's
 * copy is wiped before it is freed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api/api_internal.h"
#include "base/error.h"

#define PEM_MAX_BYTES (1 << 20) /* a certificate chain or key is a few KiB */

/* The whole of a PEM file as text, checked for the "-----BEGIN what" it must hold. */
static int read_pem(const char *flag, const char *path, const char *what, char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return lg_error(LG_E_IO, "%s '%s': %s", flag, path, strerror(errno));
    char *text = malloc(PEM_MAX_BYTES + 1);
    if (!text) {
        fclose(f);
        return lg_error(LG_E_NOMEM, "%s '%s': out of memory", flag, path);
    }
    size_t n = fread(text, 1, PEM_MAX_BYTES + 1, f);
    int err = ferror(f);
    fclose(f);
    int rc = LG_OK;
    if (err)
        rc = lg_error(LG_E_IO, "%s '%s': read error", flag, path);
    else if (n > PEM_MAX_BYTES)
        rc = lg_error(LG_E_INVALID_ARG, "%s '%s': over %d bytes, not a PEM file", flag, path, PEM_MAX_BYTES);
    text[n > PEM_MAX_BYTES ? PEM_MAX_BYTES : n] = '\0';
    char marker[64];
    snprintf(marker, sizeof(marker), "-----BEGIN %s", what);
    if (rc == LG_OK && !strstr(text, marker))
        rc = lg_error(LG_E_INVALID_ARG, "%s '%s': no '%s' block: not a PEM %s", flag, path, marker,
                      strcmp(what, "CERTIFICATE") ? "private key" : "certificate");
    if (rc != LG_OK) {
        memset(text, 0, n > PEM_MAX_BYTES ? PEM_MAX_BYTES : n);
        free(text);
        return rc;
    }
    *out = text;
    return LG_OK;
}

int lg_api_tls_load(lg_api *a)
{
    const char *cert = a->cfg.tls_cert_file, *key = a->cfg.tls_key_file;
    bool has_cert = cert && *cert, has_key = key && *key;
    if (!has_cert && !has_key) return LG_OK;
    if (has_cert != has_key)
        return lg_error(LG_E_INVALID_ARG, "https needs both --tls-cert FILE and --tls-key FILE (only %s given)",
                        has_cert ? "--tls-cert" : "--tls-key");
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return lg_error(LG_E_UNSUPPORTED, "this libmicrohttpd was built without TLS: cannot serve https");
    LG_CHECK(read_pem("--tls-cert", cert, "CERTIFICATE", &a->tls_cert));
    int rc = read_pem("--tls-key", key, "", &a->tls_key);
    /* "PRIVATE KEY-----" ends the PKCS#8, RSA and EC key headers alike. */
    if (rc == LG_OK && !strstr(a->tls_key, "PRIVATE KEY-----"))
        rc = lg_error(LG_E_INVALID_ARG, "--tls-key '%s': no PEM private key block", key);
    if (rc != LG_OK) lg_api_tls_free(a);
    return rc;
}

void lg_api_tls_free(lg_api *a)
{
    if (a->tls_key) memset(a->tls_key, 0, strlen(a->tls_key));
    free(a->tls_key);
    free(a->tls_cert);
    a->tls_key = a->tls_cert = NULL;
}
