// The exact TCP socket lookup behind workload attestation: one NETLINK_SOCK_DIAG
// request for a 4-tuple (what `ss` does, without NLM_F_DUMP), answering with
// the socket's owner uid, inode and state. Node has no netlink sockets, hence C.
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>

// The kernel answers an exact request inside sendmsg (the reply is queued
// before send returns), so the receive should never wait; the timeout only
// bounds how long a misbehaving kernel could stall the event loop.
#define RECV_TIMEOUT_USEC 100000

typedef struct {
  int found;      // 1 found, 0 not found, -1 error (message set)
  unsigned uid;
  unsigned inode;
  unsigned state;
  char message[160];
} answer_t;

static void fail(answer_t* a, const char* what, int err) {
  a->found = -1;
  snprintf(a->message, sizeof a->message, "%s: %s (errno %d)", what, strerror(err), err);
}

// One request on a fresh socket: a reply can never belong to an earlier call
// that timed out, and there is no state to share between threads or workers.
static void lookup(int family, const void* src, unsigned sport, const void* dst, unsigned dport, answer_t* a) {
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 req;
  } msg;
  memset(&msg, 0, sizeof msg);
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST;  // no NLM_F_DUMP: the kernel's hash lookup, not a walk of every socket
  msg.nlh.nlmsg_seq = 1;
  msg.req.sdiag_family = family == 6 ? AF_INET6 : AF_INET;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = ~0U;
  size_t len = family == 6 ? 16 : 4;
  memcpy(msg.req.id.idiag_src, src, len);
  memcpy(msg.req.id.idiag_dst, dst, len);
  msg.req.id.idiag_sport = htons((uint16_t)sport);
  msg.req.id.idiag_dport = htons((uint16_t)dport);
  msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) {
    fail(a, "socket(AF_NETLINK, NETLINK_SOCK_DIAG)", errno);
    return;
  }
  struct timeval tv = {0, RECV_TIMEOUT_USEC};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
    int e = errno;
    close(fd);
    fail(a, "setsockopt(SO_RCVTIMEO)", e);
    return;
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n;
  do n = sendto(fd, &msg, sizeof msg, 0, (struct sockaddr*)&kernel, sizeof kernel);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    int e = errno;
    close(fd);
    fail(a, "sendto(sock_diag)", e);
    return;
  }
  // Aligned for struct nlmsghdr; one reply is an inet_diag_msg and a few small attributes.
  long buf[1024];
  do n = recv(fd, buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  int e = errno;
  close(fd);
  if (n < 0) {
    fail(a, e == EAGAIN || e == EWOULDBLOCK ? "recv(sock_diag): no answer within 100 ms" : "recv(sock_diag)", e);
    return;
  }
  int left = (int)n;
  for (struct nlmsghdr* h = (struct nlmsghdr*)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
    if (h->nlmsg_seq != 1) continue;
    if (h->nlmsg_type == NLMSG_ERROR) {
      const struct nlmsgerr* err = NLMSG_DATA(h);
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof *err)) break;
      // ENOENT: no socket with that 4-tuple (the kernel's "not found").
      if (err->error == -ENOENT) {
        a->found = 0;
        return;
      }
      fail(a, "sock_diag request refused", -err->error);
      return;
    }
    if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
      const struct inet_diag_msg* m = NLMSG_DATA(h);
      a->found = 1;
      a->uid = m->idiag_uid;
      a->inode = m->idiag_inode;
      a->state = m->idiag_state;
      return;
    }
  }
  a->found = -1;
  snprintf(a->message, sizeof a->message, "sock_diag answered with no socket record and no error (%zd bytes)", n);
}

// Connects a loopback pair and looks the client up: proves that this kernel
// answers exact lookups (tcp_diag loaded, netlink allowed). Without it a
// missing tcp_diag would read as ENOENT, "not found", for every caller.
static void self_test(answer_t* a) {
  struct sockaddr_in srv = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct sockaddr_in cli;
  socklen_t sl = sizeof srv, cl = sizeof cli;
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int cs = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ls < 0 || cs < 0) fail(a, "socket(AF_INET)", errno);
  else if (bind(ls, (struct sockaddr*)&srv, sizeof srv) < 0 || listen(ls, 1) < 0 || getsockname(ls, (struct sockaddr*)&srv, &sl) < 0)
    fail(a, "listen on 127.0.0.1", errno);
  // On loopback the handshake completes inside connect(), against the listen backlog.
  else if (connect(cs, (struct sockaddr*)&srv, sizeof srv) < 0 || getsockname(cs, (struct sockaddr*)&cli, &cl) < 0)
    fail(a, "connect to 127.0.0.1", errno);
  else {
    lookup(4, &cli.sin_addr, ntohs(cli.sin_port), &srv.sin_addr, ntohs(srv.sin_port), a);
    if (a->found == 0) {
      a->found = -1;
      snprintf(a->message, sizeof a->message, "sock_diag does not find a connected loopback socket (is the tcp_diag kernel module available?)");
    }
  }
  if (ls >= 0) close(ls);
  if (cs >= 0) close(cs);
}

#define CHECK(call) \
  if ((call) != napi_ok) return NULL

static napi_value answer_value(napi_env env, const answer_t* a) {
  napi_value out, v;
  CHECK(napi_create_object(env, &out));
  const char* kind = a->found == 1 ? "found" : a->found == 0 ? "not-found" : "error";
  CHECK(napi_create_string_utf8(env, kind, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, out, "kind", v));
  if (a->found == 1) {
    CHECK(napi_create_uint32(env, a->uid, &v));
    CHECK(napi_set_named_property(env, out, "uid", v));
    CHECK(napi_create_uint32(env, a->inode, &v));
    CHECK(napi_set_named_property(env, out, "inode", v));
    CHECK(napi_create_uint32(env, a->state, &v));
    CHECK(napi_set_named_property(env, out, "state", v));
  } else if (a->found < 0) {
    CHECK(napi_create_string_utf8(env, a->message, NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, out, "message", v));
  }
  return out;
}

static napi_value error_value(napi_env env, const char* message) {
  answer_t a = {.found = -1};
  snprintf(a.message, sizeof a.message, "%s", message);
  return answer_value(env, &a);
}

static int port_arg(napi_env env, napi_value v, unsigned* port) {
  uint32_t p;
  if (napi_get_value_uint32(env, v, &p) != napi_ok || p > 65535) return 0;
  *port = p;
  return 1;
}

// lookup(family: 4 | 6, srcAddr, srcPort, dstAddr, dstPort): the socket whose
// local end is src and remote end dst. Bad arguments are an error value, not a throw.
static napi_value js_lookup(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 5) return error_value(env, "lookup takes (family, srcAddr, srcPort, dstAddr, dstPort)");
  int32_t family;
  if (napi_get_value_int32(env, argv[0], &family) != napi_ok || (family != 4 && family != 6)) return error_value(env, "family must be 4 or 6");
  char src_text[64], dst_text[64];
  size_t src_len, dst_len;
  unsigned sport, dport;
  if (napi_get_value_string_utf8(env, argv[1], src_text, sizeof src_text, &src_len) != napi_ok ||
      napi_get_value_string_utf8(env, argv[3], dst_text, sizeof dst_text, &dst_len) != napi_ok ||
      src_len >= sizeof src_text - 1 || dst_len >= sizeof dst_text - 1)  // too long for an address: not truncated into one
    return error_value(env, "addresses must be strings of at most 62 characters");
  if (!port_arg(env, argv[2], &sport) || !port_arg(env, argv[4], &dport)) return error_value(env, "ports must be integers from 0 to 65535");
  unsigned char src[16], dst[16];
  int af = family == 6 ? AF_INET6 : AF_INET;
  if (inet_pton(af, src_text, src) != 1 || inet_pton(af, dst_text, dst) != 1)
    return error_value(env, family == 6 ? "addresses must be IPv6 literals without a zone" : "addresses must be dotted IPv4 literals");
  answer_t a = {0};
  lookup(family, src, sport, dst, dport, &a);
  return answer_value(env, &a);
}

static napi_value js_self_test(napi_env env, napi_callback_info info) {
  (void)info;
  answer_t a = {0};
  self_test(&a);
  return answer_value(env, &a);
}

NAPI_MODULE_INIT() {
  napi_value fn;
  CHECK(napi_create_function(env, "lookup", NAPI_AUTO_LENGTH, js_lookup, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "lookup", fn));
  CHECK(napi_create_function(env, "selfTest", NAPI_AUTO_LENGTH, js_self_test, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "selfTest", fn));
  return exports;
}
