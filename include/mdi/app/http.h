/* An HTTP/1.1 server (libmicrohttpd; http.c is the only file that includes
 * microhttpd.h).  Every connection has its own thread, so a handler may
 * block until its answer is ready and a slow client holds only its own
 * thread.  A request whose header is not complete client_timeout seconds
 * after it began (after the connection opened, for the first one) is
 * answered 408 and its connection closed; a connection idle for a second
 * longer than client_timeout (between requests, or in a body or a
 * response that does not move) is closed.
 *
 * The handler receives the whole request (a body larger than max_body is
 * not kept: too_large is set) and answers with a complete body or with a
 * stream, whose bytes are produced while they are sent (chunked transfer
 * encoding: server-sent events). */
#ifndef MDI_HTTP_H
#define MDI_HTTP_H

#include <stddef.h>

struct mdi_http;

struct mdi_http_request {
  const char *method, *path;
  const char *body;             /* NUL-terminated; "" without a body */
  size_t body_len;
  int too_large;                /* the body exceeded max_body (and was dropped) */
  const char *authorization;    /* the Authorization header or NULL */
  void *conn;                   /* for mdi_http_gone */
  int header_timeout;           /* no request: a client's header took longer than client_timeout;
                                   the answer (408, a body) goes out before the connection closes */
};

/* Bytes produced while the response is sent. */
struct mdi_http_stream {
  /* Up to max bytes into buf; may block until some are ready.  Returns the
   * count (> 0), 0 at the end of the stream, -1 to drop the connection. */
  long (*read)(struct mdi_http_stream *s, char *buf, size_t max);
  /* The response is over: sent whole (complete = 1) or the client left. */
  void (*close)(struct mdi_http_stream *s, int complete);
  void *conn;                   /* set before the first read: for mdi_http_gone */
};

struct mdi_http_response {
  int status;
  const char *content_type;
  char *body;                   /* malloc'd, taken over; or NULL with a stream */
  size_t len;
  struct mdi_http_stream *stream;
  const char *header_name, *header_value; /* one extra header (e.g. Retry-After) or NULL */
};

typedef void (*mdi_http_handler)(void *ctx, const struct mdi_http_request *rq, struct mdi_http_response *rs);

struct mdi_http_config {
  const char *listen;           /* "[HOST:]PORT"; HOST defaults to 127.0.0.1; "[::1]:PORT" for IPv6 */
  size_t max_body;              /* bytes */
  double client_timeout;        /* seconds a connection may stay idle */
  int max_connections;
};

/* Bind and start serving; MDI_ERR with the message set when the address
 * is bad or taken.  *port_out receives the bound port (PORT 0 picks one). */
int mdi_http_start(struct mdi_http **out, const struct mdi_http_config *cfg, mdi_http_handler handler, void *ctx,
                   int *port_out);
/* Stop accepting connections (open ones go on). */
void mdi_http_quiesce(struct mdi_http *h);
/* Close every connection and free the server (handlers must have returned). */
void mdi_http_stop(struct mdi_http *h);

/* 1 when the client of a connection has gone away (checked without blocking). */
int mdi_http_gone(void *conn);

#endif
