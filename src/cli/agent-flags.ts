// `entente agent --node NAME --advertise-ip IP`: the two keys of agent.yaml
// that differ from node to node, given on the command line so that one file
// serves every node. A DaemonSet passes them from the downward API
// ($(NODE_NAME) from spec.nodeName, $(HOST_IP) from status.hostIP) and shares
// one ConfigMap; a systemd template unit can do the same with %H.
import { loadConfigFile } from '../core/config-file.js';
import { canonicalIp, isUnspecifiedIp } from '../core/address.js';
import { EntenteError } from '../core/errors.js';
import { zDnsLabel } from '../core/config-types.js';
import { agentConfigSchema, type AgentConfig } from '../agent/agent-config.js';

export interface AgentFlags {
  /** Replaces agent.yaml's `node` (checked before the file is). */
  readonly node?: string;
  /** The advertised IP; the port stays advertise's, else listen.inbound's. */
  readonly advertiseIp?: string;
}

/** The node flag's value, checked as the `node` key is, but named as the flag. */
function nodeFlag(node: string): string {
  const r = zDnsLabel.safeParse(node);
  if (!r.success) throw new EntenteError('CLI_USAGE', `--node ${JSON.stringify(node)}: expected a DNS label: lower-case letters, digits and "-", at most 63`);
  return r.data;
}

/** Applies --advertise-ip to a checked config. */
export function withAdvertiseIp(config: AgentConfig, ip: string): AgentConfig {
  const host = canonicalIp(ip);
  if (host === undefined || isUnspecifiedIp(host)) throw new EntenteError('CLI_USAGE', `--advertise-ip ${JSON.stringify(ip)}: expected a literal IP address of this node (not 0.0.0.0 or ::)`);
  const port = config.advertise?.port ?? config.listen.inbound.port;
  if (port === 0) {
    throw new EntenteError('CLI_USAGE', '--advertise-ip: listen.inbound has port 0 (any free port), which other nodes cannot be told in advance', { hint: 'give listen.inbound (or advertise) a fixed port' });
  }
  return { ...config, advertise: { host, port } };
}

/** Reads agent.yaml with the flags applied: BAD_CONFIG for the file, CLI_USAGE for a bad flag. */
export function loadAgentConfig(path: string, flags: AgentFlags): AgentConfig {
  const set = flags.node !== undefined ? { node: nodeFlag(flags.node) } : undefined;
  const config = loadConfigFile(agentConfigSchema, path, undefined, set);
  return flags.advertiseIp !== undefined ? withAdvertiseIp(config, flags.advertiseIp) : config;
}
