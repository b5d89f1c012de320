/*
 * protocol.h: the coordinator <-> worker wire protocol (docs/protocol.md). A message is
 * a ZeroMQ multipart message:
 *
 *   frame 0  version tag "LG1"
 *   frame 1  message type name ("HELLO", "TASK", ...)
 *   frame 2  JSON object with the message's metadata
 *   frame 3+ raw binary payloads (task input, result body, model bytes), never base64'd
 *
 * A table gives every type its payload count, size limit and required JSON fields;
 * lg_proto_decode checks all of them, so handlers read fields without re-checking.
 *
 *   lg_rx rx;
 *   lg_msg m;
 *   while (lg_proto_recv(sock, &rx) == LG_OK) {
 *       if (lg_rx_decode(&rx, 0, &m) != LG_OK) lg_proto_send_error(sock, NULL, 0, "malformed", lg_last_error());
 *       else if (m.type == LG_MSG_TASK) run(lg_proto_str(&m, "id"), m.blob[0], m.blob_len[0]);
 *       lg_msg_clear(&m);
 *       lg_rx_close(&rx);
 *   }
 */
#ifndef LG_CLUSTER_PROTOCOL_H
#define LG_CLUSTER_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include <czmq.h>
#include <jansson.h>

#include "cluster/coordinator.h"

#define LG_PROTO_VERSION "LG1"
#define LG_PROTO_MAX_BLOBS 2
#define LG_PROTO_MAX_FRAMES (3 + LG_PROTO_MAX_BLOBS)
#define LG_PROTO_MAX_META ((size_t)1 << 20)        /* JSON metadata frame */
#define LG_PROTO_MAX_PAYLOAD ((size_t)1 << 31)     /* one payload frame (a model) */

typedef enum lg_msg_type {
    LG_MSG_HELLO = 0,    /* worker -> coord: registration (lg_worker_info) */
    LG_MSG_WELCOME,      /* coord -> worker: registered, with the coordinator's beat */
    LG_MSG_HEARTBEAT,    /* both ways; the worker's carries in_flight */
    LG_MSG_TASK,         /* coord -> worker: a task to run, input as payload */
    LG_MSG_STARTED,      /* worker -> coord: the task is running */
    LG_MSG_RESULT,       /* worker -> coord: result body as payload, service seconds */
    LG_MSG_FAILURE,      /* worker -> coord: the attempt failed, with the reason */
    LG_MSG_MODEL_REQUEST,/* worker -> coord: send me model `name` */
    LG_MSG_MODEL,        /* coord -> worker: name, sha256; model.onnx and config.json */
    LG_MSG_MODEL_ERROR,  /* coord -> worker: the model cannot be sent */
    LG_MSG_BYE,          /* worker -> coord: leaving; hand my tasks to others */
    LG_MSG_ERROR,        /* either way: the last message was refused (code, message) */
    LG_MSG_COUNT
} lg_msg_type;

/* Codes carried by ERROR messages. */
#define LG_PROTO_ERR_VERSION "version"       /* peer speaks another protocol version */
#define LG_PROTO_ERR_MALFORMED "malformed"   /* bad frames, type, JSON or fields */
#define LG_PROTO_ERR_UNKNOWN "unknown_worker"/* not registered (send HELLO first) */
#define LG_PROTO_ERR_REFUSED "refused"       /* registration refused */

typedef struct lg_frame {
    const void *data;
    size_t len;
} lg_frame;

/* A decoded message. Payload pointers point into the frames it was decoded from. */
typedef struct lg_msg {
    lg_msg_type type;
    json_t *meta;                               /* JSON object (owned) */
    int n_blobs;
    const uint8_t *blob[LG_PROTO_MAX_BLOBS];
    size_t blob_len[LG_PROTO_MAX_BLOBS];
} lg_msg;

/* "HELLO", ...; NULL for an invalid type. */
const char *lg_msg_type_name(lg_msg_type t);

/* Checks and decodes frames (version, type, frame count, sizes, JSON, required fields).
 * LG_E_UNSUPPORTED: another protocol version; LG_E_PARSE: anything else malformed;
 * the message says what. */
int lg_proto_decode(const lg_frame *frames, int n, lg_msg *out);
void lg_msg_clear(lg_msg *m);

/* Field readers for decoded messages (the decoder checked required ones): a string
 * ("" if absent), a number (def if absent), an integer (def if absent). */
const char *lg_proto_str(const lg_msg *m, const char *key);
double lg_proto_num(const lg_msg *m, const char *key, double def);
int64_t lg_proto_int(const lg_msg *m, const char *key, int64_t def);

/* One received multipart message, held as the libzmq messages themselves (no copies).
 * total counts every part, also those past the ones kept (a message with too many). */
typedef struct lg_rx {
    zmq_msg_t part[LG_PROTO_MAX_FRAMES + 1];
    int n, total;
} lg_rx;

/* Receives one message without waiting: LG_OK, LG_E_NOT_FOUND when none is there,
 * LG_E_IO on a socket error. After LG_OK, lg_rx_close releases it. */
int lg_proto_recv(void *sock, lg_rx *rx);
void lg_rx_close(lg_rx *rx);
/* Decodes rx from part `first` on (1 after a ROUTER's routing id), as lg_proto_decode;
 * payload pointers stay valid until lg_rx_close. */
int lg_rx_decode(lg_rx *rx, int first, lg_msg *out);

/* Sends a message of type t with meta (stolen; NULL: {}) and n payloads, without
 * waiting, preceded by routing id rid when rid_len > 0 (ROUTER). LG_E_IO: the peer is
 * unreachable (ROUTER_MANDATORY) or its queue is full; the message says which. */
int lg_proto_send(void *sock, const void *rid, size_t rid_len, lg_msg_type t, json_t *meta, int n,
                  const lg_frame *blobs);
/* Sends an ERROR with code and message text. */
int lg_proto_send_error(void *sock, const void *rid, size_t rid_len, const char *code, const char *message);

/* The HELLO metadata for info, and back (LG_E_PARSE names a bad or oversized field). */
json_t *lg_proto_worker_info_to_json(const lg_worker_info *info);
int lg_proto_worker_info_from_json(const json_t *meta, lg_worker_info *out);

/* A new socket of a ZMQ_* type with the options both sides share (message size cap, no
 * linger, large high-water marks). The first call turns off CZMQ's signal handler: the
 * program owns its signals. NULL on failure. */
zsock_t *lg_proto_socket_new(int type);

#endif
