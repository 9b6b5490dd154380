// The Node/V8 flags an agent should be started with (the lab does; systemd and
// Kubernetes users put them on the node command line, docs/dataplane.md "Footprint").

/**
 * V8's young generation grows to 32 MB under a steady request load by
 * default; 2 MB semi-spaces bound it to a few MB at no measurable CPU cost,
 * since almost everything a request allocates dies young. It must be given on
 * the command line or in NODE_OPTIONS: v8.setFlagsFromString is too late, the
 * heap already exists.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
