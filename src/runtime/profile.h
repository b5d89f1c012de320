/*
 * profile.h: the runtime's side of per-node profiling (the public half is
 * lg_session_set_profiling / lg_session_profile in legacygpu/engine.h).
 *
 * The executor times each node of a run with two calls around it:
 *
 *   uint64_t t0 = lg_profile_start(sess);          // 0 when profiling is off: no clock read
 *   rc = run_node(frame, i, false);
 *   lg_profile_node_done(sess, plan->graph, i, t0); // nothing when t0 == 0
 *
 * and forgets a session's totals when the session is freed:
 *
 *   lg_profile_forget(sess);                        // in lg_session_free
 */
#ifndef LG_PROFILE_H
#define LG_PROFILE_H

#include <stdint.h>

#include "model/graph.h"

/* Monotonic nanoseconds when s is being profiled, else 0. Cheap when nothing is. */
uint64_t lg_profile_start(const lg_session *s);
/* Adds now - t0 to node `node` of graph g when g is s's main graph and t0 != 0. */
void lg_profile_node_done(const lg_session *s, const lg_graph *g, int node, uint64_t t0);
/* Drops whatever profile s had (a session being freed). */
void lg_profile_forget(lg_session *s);

#endif
