/*
 * coord_net.h: the coordinator's ZeroMQ side: a ROUTER socket (ROUTER_MANDATORY) that
 * workers' DEALERs connect to, run on its own thread. It turns worker messages into
 * lg_coord calls, sends what lg_coord_next_dispatch hands out, answers model fetches from
 * the repository, sends heartbeats and calls lg_coord_tick. See docs/protocol.md.
 *
 *   lg_coord_net *net;
 *   if (lg_coord_net_start(coord, "tcp://127.0.0.1:5555", &net) != LG_OK) ...;
 *   printf("workers connect to %s\n", lg_coord_net_endpoint(net)); // port 0 -> real port
 *   ...
 *   lg_coord_net_stop(net);
 */
#ifndef LG_CLUSTER_COORD_NET_H
#define LG_CLUSTER_COORD_NET_H

#include "cluster/coordinator.h"

typedef struct lg_coord_net lg_coord_net;

/* bind: "tcp://HOST:PORT" (PORT 0 or * picks a free port). */
int lg_coord_net_start(lg_coord *c, const char *bind, lg_coord_net **out);
/* The same with ZeroMQ CURVE on the TCP endpoint (curve.h) when curve_secret is not NULL:
 * this coordinator's key pair file, and the folder of the worker public keys it admits.
 * A worker with another key is refused at the handshake and the refusal is logged. The
 * in-process endpoint stays without CURVE. */
int lg_coord_net_start_curve(lg_coord *c, const char *bind, const char *curve_secret, const char *curve_allow,
                             lg_coord_net **out);
/* The endpoint workers should connect to, with the real port. */
const char *lg_coord_net_endpoint(const lg_coord_net *n);
/* An inproc:// endpoint for workers in the same process (lg_worker_start there). */
const char *lg_coord_net_local_endpoint(const lg_coord_net *n);
void lg_coord_net_stop(lg_coord_net *n);

#endif
