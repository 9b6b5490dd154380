# The sock_diag addon (native/sock_diag.c), built by node-gyp at `npm ci`
# into build/Release/sock_diag.node; src/agent/attest/sock-diag.ts loads it.
{
  "targets": [
    {
      "target_name": "sock_diag",
      "sources": ["native/sock_diag.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
