/* libmicrohttpd: the only file that includes microhttpd.h (see http.h). */
#define _GNU_SOURCE /* POLLRDHUP: the peer closed its end */
#include "mdi/app/http.h"

#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mdi/base/error.h"

/* Where a connection is with its current request.  libmicrohttpd calls no
 * handler before a request's header is complete, and when its idle timeout
 * closes a connection it says nothing to the client; the header watch
 * (watch_headers) answers a header that takes longer than client_timeout
 * with 408 itself, on a duplicate of the socket. */
enum { C_HEADER, C_HANDLED, C_IDLE, C_TIMED_OUT, C_SHUT };

struct conn_rec {
  int fd;                    /* our dup of the socket: valid until the connection's CLOSED notice */
  int state;                 /* C_* */
  double since;              /* the header began: the connection opened, or a later request's first line */
  double t_408;              /* when the 408 went out */
  struct conn_rec *prev, *next;
};

struct mdi_http {
  struct MHD_Daemon *daemon;
  mdi_http_handler handler;
  void *ctx;
  size_t max_body;
  double header_timeout;     /* seconds a request's header may take */
  pthread_mutex_t mu;        /* guards conns and every conn_rec */
  pthread_cond_t wake;
  struct conn_rec *conns;
  pthread_t watch;
  int stopping;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One request while its header and body arrive. */
struct exchange {
  char *body;
  size_t len, cap;
  int too_large;
  int seen;          /* the first call (headers only) is over */
  int header_done;   /* on_request has been called */
};

/* A stream with what libmicrohttpd's callbacks need to know. */
struct stream_box {
  struct mdi_http_stream *s;
  int ended;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  struct stream_box *b = cls;
  const long n = b->s->read(b->s, buf, max);
  if (n > 0) return (ssize_t)n;
  if (n == 0) {
    b->ended = 1;
    return MHD_CONTENT_READER_END_OF_STREAM;
  }
  return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls) {
  struct stream_box *b = cls;
  b->s->close(b->s, b->ended);
  free(b);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct mdi_http_response *rs) {
  struct MHD_Response *r;
  if (rs->stream) {
    struct stream_box *b = mdi_xcalloc(1, sizeof *b, "stream");
    b->s = rs->stream;
    b->s->conn = conn;
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, b, stream_free);
    if (!r) {
      stream_free(b);
      return MHD_NO;
    }
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no"); /* a reverse proxy must not hold events back */
  } else {
    r = MHD_create_response_from_buffer(rs->len, rs->body ? rs->body : (char *)"",
                                        rs->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
      free(rs->body);
      return MHD_NO;
    }
  }
  if (rs->content_type) MHD_add_response_header(r, "Content-Type", rs->content_type);
  if (rs->header_name) MHD_add_response_header(r, rs->header_name, rs->header_value);
  const enum MHD_Result ok = MHD_queue_response(conn, (unsigned)rs->status, r);
  MHD_destroy_response(r);
  return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
  (void)version;
  struct mdi_http *h = cls;
  struct exchange *x = *con_cls;
  if (!x || !x->header_done) {
    if (!x) x = *con_cls = mdi_xcalloc(1, sizeof *x, "request");
    x->header_done = 1;
    /* the header is complete: the watch leaves the connection alone, or it
     * has answered 408 already and the request goes no further */
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_rec *c = ci ? ci->socket_context : NULL;
    int late = 0;
    if (c) {
      pthread_mutex_lock(&h->mu);
      late = c->state == C_TIMED_OUT || c->state == C_SHUT;
      if (!late) c->state = C_HANDLED;
      pthread_mutex_unlock(&h->mu);
    }
    if (late) return MHD_NO;
    /* a declared body that is too large is refused before it is read */
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > h->max_body) x->too_large = 1;
    if (!x->too_large) return MHD_YES;
  } else if (*upload_data_size > 0) {
    if (!x->too_large && x->len + *upload_data_size > h->max_body) {
      x->too_large = 1;
      free(x->body);
      x->body = NULL;
      x->len = x->cap = 0;
    }
    if (!x->too_large) {
      if (x->len + *upload_data_size + 1 > x->cap) {
        x->cap = 2 * (x->len + *upload_data_size + 1);
        x->body = mdi_xrealloc(x->body, x->cap, "request body");
      }
      memcpy(x->body + x->len, upload_data, *upload_data_size);
      x->len += *upload_data_size;
      x->body[x->len] = '\0';
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (x->seen) return MHD_YES; /* answered already (a refused body still arriving) */
  x->seen = 1;
  struct mdi_http_request rq = {
      .method = method,
      .path = url,
      .body = x->body ? x->body : "",
      .body_len = x->len,
      .too_large = x->too_large,
      .authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
      .conn = conn,
  };
  struct mdi_http_response rs = {0};
  h->handler(h->ctx, &rq, &rs);
  return send_response(conn, &rs);
}

static struct conn_rec *rec_of(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why) {
  (void)why;
  struct mdi_http *h = cls;
  struct conn_rec *c = rec_of(conn);
  if (c) {
    pthread_mutex_lock(&h->mu);
    if (c->state == C_HANDLED) c->state = C_IDLE; /* waiting for the next request, if any */
    pthread_mutex_unlock(&h->mu);
  }
  struct exchange *x = *con_cls;
  if (!x) return;
  free(x->body);
  free(x);
  *con_cls = NULL;
}

/* A request's first line has arrived (its header is not complete yet): a
 * later request on a kept-alive connection starts its header clock here. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn) {
  (void)uri;
  struct mdi_http *h = cls;
  struct conn_rec *c = rec_of(conn);
  if (c) {
    pthread_mutex_lock(&h->mu);
    if (c->state == C_IDLE) c->state = C_HEADER, c->since = now_s();
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->mu);
  }
  return mdi_xcalloc(1, sizeof(struct exchange), "request");
}

/* Connections come and go: the header watch keeps a duplicate of each
 * socket, so it never writes to a descriptor that was closed and reused. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  struct mdi_http *h = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const int fd = ci ? fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (fd < 0) return; /* (out of descriptors: libmicrohttpd's idle timeout still closes it) */
    struct conn_rec *c = mdi_xcalloc(1, sizeof *c, "connection");
    c->fd = fd;
    c->state = C_HEADER;
    c->since = now_s();
    pthread_mutex_lock(&h->mu);
    c->next = h->conns;
    if (h->conns) h->conns->prev = c;
    h->conns = c;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->mu);
    *socket_context = c;
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
    struct conn_rec *c = *socket_context;
    pthread_mutex_lock(&h->mu);
    if (c->prev) c->prev->next = c->next;
    else h->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&h->mu);
    close(c->fd);
    free(c);
    *socket_context = NULL;
  }
}

/* The 408 answer, as bytes on the wire (the handler writes the body). */
static size_t format_timeout(struct mdi_http *h, char **out) {
  const struct mdi_http_request rq = {.method = "", .path = "", .body = "", .header_timeout = 1};
  struct mdi_http_response rs = {0};
  h->handler(h->ctx, &rq, &rs);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) MDI_PANIC("out of memory formatting a 408");
  fprintf(f, "HTTP/1.1 %d Request Timeout\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
          rs.status, rs.content_type ? rs.content_type : "text/plain", rs.len);
  fwrite(rs.body ? rs.body : "", 1, rs.len, f);
  fclose(f);
  free(rs.body);
  *out = buf;
  return len;
}

/* A header that has taken header_timeout seconds gets 408 and the end of
 * our side of the connection (the client reads the answer and closes); a
 * second later the reading side is shut too, which ends the connection's
 * thread however the client behaves.  The watch sleeps until the next such
 * moment, or until a connection opens or a request line arrives. */
static void *watch_headers(void *arg) {
  struct mdi_http *h = arg;
  pthread_mutex_lock(&h->mu);
  while (!h->stopping) {
    const double t = now_s();
    double next = -1; /* the earliest moment something is due; -1: none */
    struct conn_rec *due = NULL;
    for (struct conn_rec *c = h->conns; c; c = c->next) {
      double when = -1;
      if (c->state == C_HEADER) when = c->since + h->header_timeout;
      if (c->state == C_TIMED_OUT) when = c->t_408 + 1.0;
      if (when < 0) continue;
      if (when <= t && c->state == C_TIMED_OUT) {
        shutdown(c->fd, SHUT_RD);
        c->state = C_SHUT;
        continue;
      }
      if (when <= t && !due) due = c;
      if (next < 0 || when < next) next = when;
    }
    if (due) {
      pthread_mutex_unlock(&h->mu); /* (the handler takes its own locks) */
      char *msg;
      const size_t len = format_timeout(h, &msg);
      pthread_mutex_lock(&h->mu);
      struct conn_rec *c = h->conns; /* the list may have changed meanwhile */
      while (c && c != due) c = c->next;
      if (c && c->state == C_HEADER) {
        if (send(c->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) { /* the client has gone: nothing to tell */
        }
        shutdown(c->fd, SHUT_WR);
        c->state = C_TIMED_OUT;
        c->t_408 = now_s();
      }
      free(msg);
      continue; /* look again: more may be due */
    }
    if (next < 0) {
      pthread_cond_wait(&h->wake, &h->mu);
    } else {
      const double wait = next - t + 0.001;
      struct timespec until;
      clock_gettime(CLOCK_MONOTONIC, &until);
      const double ns = (double)until.tv_nsec + wait * 1e9;
      until.tv_sec += (time_t)(ns / 1e9);
      until.tv_nsec = (long)(ns - (double)(time_t)(ns / 1e9) * 1e9);
      pthread_cond_timedwait(&h->wake, &h->mu, &until);
    }
  }
  pthread_mutex_unlock(&h->mu);
  return NULL;
}

int mdi_http_gone(void *conn) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (!ci) return 1;
  struct pollfd p = {.fd = ci->connect_fd, .events = POLLRDHUP};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* libmicrohttpd's own messages go through our log. */
static void log_mhd(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
  mdi_log_warn("http: %s", line);
}

/* "[HOST:]PORT", "[V6ADDR]:PORT" into a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *sa, socklen_t *len) {
  char host[256] = "127.0.0.1";
  const char *port = listen;
  if (listen[0] == '[') {
    const char *end = strchr(listen, ']');
    if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof host)
      return mdi_fail("--serve %s: expected [IPV6]:PORT", listen);
    snprintf(host, sizeof host, "%.*s", (int)(end - listen - 1), listen + 1);
    port = end + 2;
  } else {
    const char *colon = strrchr(listen, ':');
    if (colon) {
      if ((size_t)(colon - listen) >= sizeof host || colon == listen)
        return mdi_fail("--serve %s: expected [HOST:]PORT", listen);
      snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
      port = colon + 1;
    }
  }
  char *end;
  const long p = strtol(port, &end, 10);
  if (!port[0] || *end || p < 0 || p > 65535) return mdi_fail("--serve %s: \"%s\" is not a port (0..65535)", listen, port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
  const int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) return mdi_fail("--serve %s: cannot resolve %s: %s", listen, host, gai_strerror(rc));
  memcpy(sa, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return MDI_OK;
}

int mdi_http_start(struct mdi_http **out, const struct mdi_http_config *cfg, mdi_http_handler handler, void *ctx,
                   int *port_out) {
  *out = NULL;
  struct sockaddr_storage sa;
  socklen_t sa_len;
  if (parse_listen(cfg->listen, &sa, &sa_len) != MDI_OK) return MDI_ERR;
  struct mdi_http *h = mdi_xcalloc(1, sizeof *h, "http server");
  h->handler = handler;
  h->ctx = ctx;
  h->max_body = cfg->max_body;
  h->header_timeout = cfg->client_timeout;
  pthread_mutex_init(&h->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&h->wake, &ca);
  pthread_condattr_destroy(&ca);
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
                   MHD_USE_ERROR_LOG;
  if (sa.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, h,
                               MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                               /* idle: a second after the header watch, which answers 408 first */
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg->client_timeout + 0.999) + 1,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                               MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                               MHD_OPTION_URI_LOG_CALLBACK, on_request_line, h, MHD_OPTION_END);
  if (!h->daemon) {
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->mu);
    free(h);
    return mdi_fail("--serve %s: cannot listen there (address in use or not this machine's?)", cfg->listen);
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
  *port_out = di ? di->port : 0;
  pthread_create(&h->watch, NULL, watch_headers, h);
  *out = h;
  return MDI_OK;
}

void mdi_http_quiesce(struct mdi_http *h) {
  if (!h) return;
  const MHD_socket s = MHD_quiesce_daemon(h->daemon);
  if (s != MHD_INVALID_SOCKET) close(s);
}

void mdi_http_stop(struct mdi_http *h) {
  if (!h) return;
  pthread_mutex_lock(&h->mu);
  h->stopping = 1;
  pthread_cond_signal(&h->wake);
  pthread_mutex_unlock(&h->mu);
  pthread_join(h->watch, NULL);
  MHD_stop_daemon(h->daemon); /* (every connection's CLOSED notice frees its record) */
  pthread_cond_destroy(&h->wake);
  pthread_mutex_destroy(&h->mu);
  free(h);
}
