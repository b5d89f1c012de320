/*
 * curve.h: ZeroMQ CURVE for the links between workers and the coordinator (CZMQ zcert and
 * zauth). Keys are CZMQ certificate files as `legacygpu keygen NAME` writes them:
 * NAME.key (public key; give it to the other side) and NAME.key_secret (the pair; keep
 * it). The coordinator's ROUTER is a CURVE server with its pair and a zauth that admits
 * only the public keys in an allow-list folder (re-read when the folder changes); a
 * worker's DEALER is a CURVE client with its own pair and the coordinator's public key.
 * A refused handshake is seen on a socket monitor and logged on both sides. Sockets of
 * the same process (inproc, serve's local workers) never use CURVE.
 *
 *   lg_curve_server *srv;
 *   lg_curve_server_start(router, "coord.key_secret", "allowed/", &srv);  // before bind
 *   ... lg_curve_poll_item(srv's monitor) in the poll loop, lg_curve_log_events ...
 *   lg_curve_server_stop(srv);
 */
#ifndef LG_CLUSTER_CURVE_H
#define LG_CLUSTER_CURVE_H

#include <czmq.h>
#include <stdbool.h>

/* Writes DIR/NAME.key and DIR/NAME.key_secret (a fresh pair); the secret file is 0600.
 * Refuses to overwrite either. public_path/secret_path (size n each) get the paths. */
int lg_curve_keygen(const char *dir, const char *name, char *public_path, char *secret_path, size_t n);

/* A socket monitor for handshake failures, read in the owner's poll loop. */
typedef struct lg_curve_monitor lg_curve_monitor;
int lg_curve_monitor_open(void *sock, lg_curve_monitor **out);
void *lg_curve_monitor_socket(lg_curve_monitor *m);
/* Reads every pending event; returns how many were handshake failures, with the last
 * one's ZAP status (400 refused key, 0 other) and address in *status / addr (size n). */
int lg_curve_monitor_read(lg_curve_monitor *m, int *status, char *addr, size_t n);
void lg_curve_monitor_close(lg_curve_monitor **m);

/* The coordinator's side: applies the pair in secret_file to sock (a CURVE server) and
 * starts zauth with allow_dir. One per process (ZAP has one handler per context). */
typedef struct lg_curve_server lg_curve_server;
int lg_curve_server_start(zsock_t *sock, const char *secret_file, const char *allow_dir, lg_curve_server **out);
const char *lg_curve_server_allow_dir(const lg_curve_server *s);
void lg_curve_server_stop(lg_curve_server **s);

/* A worker's side: its pair and the coordinator's public key, loaded once. */
typedef struct lg_curve_client lg_curve_client;
int lg_curve_client_load(const char *secret_file, const char *server_public_file, lg_curve_client **out);
/* Makes sock (not yet connected) a CURVE client with these keys. */
void lg_curve_client_apply(const lg_curve_client *c, zsock_t *sock);
const char *lg_curve_client_public(const lg_curve_client *c);
void lg_curve_client_free(lg_curve_client **c);

#endif
