/*
 * curve.c: ZeroMQ CURVE keys and authentication for the worker links (curve.h): key
 * pairs written and read as CZMQ certificates (zcert), the coordinator's zauth with its
 * allow-list folder, a worker's client keys, and socket monitors that report refused
 * handshakes so both sides can log them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "cluster/curve.h"

#define ZAP_DOMAIN "legacygpu"

/* ---- key files ------------------------------------------------------------------------ */

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int lg_curve_keygen(const char *dir, const char *name, char *public_path, char *secret_path, size_t n)
{
    if (!*name || strchr(name, '/') || name[0] == '.')
        return lg_error(LG_E_INVALID_ARG, "keygen: NAME '%s' must be a plain file name (no '/', not starting with '.')",
                        name);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return lg_error(LG_E_IO, "keygen: folder '%s' does not exist", dir);
    if ((size_t)snprintf(public_path, n, "%s/%s.key", dir, name) >= n ||
        (size_t)snprintf(secret_path, n, "%s/%s.key_secret", dir, name) >= n)
        return lg_error(LG_E_INVALID_ARG, "keygen: path '%s/%s.key_secret' too long", dir, name);
    if (is_file(public_path) || is_file(secret_path))
        return lg_error(LG_E_IO, "keygen: '%s' or '%s' exists already; not overwriting a key", public_path,
                        secret_path);
    zcert_t *cert = zcert_new();
    if (!cert) return lg_error(LG_E_RUNTIME, "keygen: cannot make a key pair (libsodium/libzmq without CURVE?)");
    zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "made-by", "legacygpu keygen");
    mode_t old = umask(077); /* the secret file is never readable by others, not even briefly */
    int rc = zcert_save(cert, public_path);
    umask(old);
    zcert_destroy(&cert);
    if (rc != 0) return lg_error(LG_E_IO, "keygen: cannot write '%s': %s", public_path, strerror(errno));
    chmod(public_path, 0644); /* the public half is meant to be handed out */
    return LG_OK;
}

/* True when path reads like a CZMQ certificate (ZPL with a "public-key" entry). Checked
 * before zcert_load, which leaks what it allocated for a file it cannot parse. */
static bool looks_like_cert(const char *path)
{
    char text[8192];
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    return memchr(text, '\0', n) == NULL && strstr(text, "curve") && strstr(text, "public-key");
}

/* A certificate from path; with need_secret, it must hold the secret key too. */
static int load_cert(const char *flag, const char *path, bool need_secret, zcert_t **out)
{
    *out = NULL;
    if (!path || !is_file(path)) return lg_error(LG_E_IO, "%s '%s': no such file", flag, path ? path : "(none)");
    zcert_t *cert = looks_like_cert(path) ? zcert_load(path) : NULL;
    if (!cert) return lg_error(LG_E_PARSE, "%s '%s': not a CURVE key file (make one with 'legacygpu keygen')", flag, path);
    const byte *pub = zcert_public_key(cert), *sec = zcert_secret_key(cert);
    bool has_pub = false, has_sec = false;
    for (int i = 0; i < 32; i++) {
        has_pub |= pub[i] != 0;
        has_sec |= sec[i] != 0;
    }
    if (!has_pub || (need_secret && !has_sec)) {
        zcert_destroy(&cert);
        return lg_error(LG_E_PARSE, "%s '%s': %s", flag, path,
                        !has_pub ? "no public key in it (make one with 'legacygpu keygen')"
                                 : "no secret key in it: give the NAME.key_secret file that 'legacygpu keygen' wrote");
    }
    *out = cert;
    return LG_OK;
}

/* ---- monitors ----------------------------------------------------------------------------- */

struct lg_curve_monitor {
    zsock_t *pair;
};

int lg_curve_monitor_open(void *sock, lg_curve_monitor **out)
{
    static atomic_int seq;
    *out = NULL;
    char ep[96];
    snprintf(ep, sizeof(ep), "inproc://legacygpu-curve-monitor-%d-%d", (int)getpid(), atomic_fetch_add(&seq, 1));
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(sock, ep, events) != 0)
        return lg_error(LG_E_IO, "CURVE: cannot monitor the socket: %s", zmq_strerror(zmq_errno()));
    lg_curve_monitor *m = calloc(1, sizeof(*m));
    if (!m) return lg_error(LG_E_NOMEM, "CURVE: out of memory");
    m->pair = zsock_new(ZMQ_PAIR);
    if (!m->pair || zsock_connect(m->pair, "%s", ep) != 0) {
        lg_curve_monitor_close(&m);
        return lg_error(LG_E_IO, "CURVE: cannot connect the socket monitor");
    }
    *out = m;
    return LG_OK;
}

void *lg_curve_monitor_socket(lg_curve_monitor *m)
{
    return zsock_resolve(m->pair);
}

int lg_curve_monitor_read(lg_curve_monitor *m, int *status, char *addr, size_t n)
{
    int failures = 0;
    void *s = zsock_resolve(m->pair);
    for (int i = 0; i < 64; i++) {
        zmq_msg_t head, where;
        zmq_msg_init(&head);
        if (zmq_msg_recv(&head, s, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&head);
            break;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&head) >= 6) {
            memcpy(&event, zmq_msg_data(&head), 2);
            memcpy(&value, (const char *)zmq_msg_data(&head) + 2, 4);
        }
        bool more = zmq_msg_more(&head);
        zmq_msg_close(&head);
        zmq_msg_init(&where);
        if (more && zmq_msg_recv(&where, s, 0) >= 0 && n > 0) {
            size_t len = zmq_msg_size(&where) < n - 1 ? zmq_msg_size(&where) : n - 1;
            memcpy(addr, zmq_msg_data(&where), len);
            addr[len] = '\0';
        }
        zmq_msg_close(&where);
        failures++;
        *status = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? (int)value : 0;
    }
    return failures;
}

void lg_curve_monitor_close(lg_curve_monitor **m)
{
    if (!*m) return;
    zsock_destroy(&(*m)->pair);
    free(*m);
    *m = NULL;
}

/* ---- the coordinator's side ---------------------------------------------------------------- */

struct lg_curve_server {
    zactor_t *auth;
    char allow_dir[512];
};

static atomic_bool server_running; /* ZAP: one handler per ZeroMQ context, i.e. per process */

int lg_curve_server_start(zsock_t *sock, const char *secret_file, const char *allow_dir, lg_curve_server **out)
{
    *out = NULL;
    struct stat st;
    if (!allow_dir || stat(allow_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return lg_error(LG_E_IO, "--curve-allow '%s': no such folder", allow_dir ? allow_dir : "(none)");
    if (strlen(allow_dir) >= sizeof(((lg_curve_server *)0)->allow_dir))
        return lg_error(LG_E_INVALID_ARG, "--curve-allow '%s': path too long", allow_dir);
    zcert_t *cert;
    LG_CHECK(load_cert("--curve-secret", secret_file, true, &cert));
    if (atomic_exchange(&server_running, true)) {
        zcert_destroy(&cert);
        return lg_error(LG_E_RUNTIME, "CURVE: this process already runs a CURVE coordinator (one ZAP handler each)");
    }
    lg_curve_server *s = calloc(1, sizeof(*s));
    if (s) s->auth = zactor_new(zauth, NULL);
    if (!s || !s->auth) {
        free(s);
        zcert_destroy(&cert);
        atomic_store(&server_running, false);
        return lg_error(LG_E_RUNTIME, "CURVE: cannot start the ZAP authenticator (zauth)");
    }
    snprintf(s->allow_dir, sizeof(s->allow_dir), "%s", allow_dir);
    /* zauth answers each handshake from the certificates in the folder, re-read when it
     * changes: adding or removing a worker's key needs no restart. */
    zstr_sendx(s->auth, "CURVE", s->allow_dir, NULL);
    zsock_wait(s->auth);
    zsock_set_zap_domain(sock, ZAP_DOMAIN);
    zsock_set_curve_server(sock, 1);
    zcert_apply(cert, zsock_resolve(sock));
    zcert_destroy(&cert);
    *out = s;
    return LG_OK;
}

const char *lg_curve_server_allow_dir(const lg_curve_server *s)
{
    return s->allow_dir;
}

void lg_curve_server_stop(lg_curve_server **s)
{
    if (!*s) return;
    zactor_destroy(&(*s)->auth);
    free(*s);
    *s = NULL;
    atomic_store(&server_running, false);
}

/* ---- a worker's side ------------------------------------------------------------------------ */

struct lg_curve_client {
    zcert_t *mine;
    char server_public[41];
};

int lg_curve_client_load(const char *secret_file, const char *server_public_file, lg_curve_client **out)
{
    *out = NULL;
    zcert_t *mine, *server;
    LG_CHECK(load_cert("--curve-secret", secret_file, true, &mine));
    int rc = load_cert("--coordinator-key", server_public_file, false, &server);
    if (rc != LG_OK) {
        zcert_destroy(&mine);
        return rc;
    }
    lg_curve_client *c = calloc(1, sizeof(*c));
    if (!c) {
        zcert_destroy(&mine);
        zcert_destroy(&server);
        return lg_error(LG_E_NOMEM, "CURVE: out of memory");
    }
    c->mine = mine;
    snprintf(c->server_public, sizeof(c->server_public), "%s", zcert_public_txt(server));
    zcert_destroy(&server);
    *out = c;
    return LG_OK;
}

void lg_curve_client_apply(const lg_curve_client *c, zsock_t *sock)
{
    zcert_apply(c->mine, zsock_resolve(sock));
    zsock_set_curve_serverkey(sock, c->server_public);
}

const char *lg_curve_client_public(const lg_curve_client *c)
{
    return zcert_public_txt(c->mine);
}

void lg_curve_client_free(lg_curve_client **c)
{
    if (!*c) return;
    zcert_destroy(&(*c)->mine);
    free(*c);
    *c = NULL;
}
