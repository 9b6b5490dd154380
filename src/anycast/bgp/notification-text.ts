// Human names for NOTIFICATION codes, for logs and `entente anycast status`.
import type { Notification } from './messages.js';

const NAMES: Record<number, [string, Record<number, string>]> = {
  1: ['message header error', { 1: 'connection not synchronized', 2: 'bad message length', 3: 'bad message type' }],
  2: ['OPEN message error', { 0: 'unspecific', 1: 'unsupported version', 2: 'bad peer AS', 3: 'bad BGP identifier', 4: 'unsupported optional parameter', 6: 'unacceptable hold time', 7: 'unsupported capability' }],
  3: ['UPDATE message error', { 1: 'malformed attribute list', 2: 'unrecognized well-known attribute', 3: 'missing well-known attribute', 4: 'attribute flags error', 5: 'attribute length error', 6: 'invalid ORIGIN', 8: 'invalid NEXT_HOP', 9: 'optional attribute error', 10: 'invalid network field', 11: 'malformed AS_PATH' }],
  4: ['hold timer expired', {}],
  5: ['finite state machine error', {}],
  6: ['cease', { 1: 'maximum prefixes reached', 2: 'administrative shutdown', 3: 'peer de-configured', 4: 'administrative reset', 5: 'connection rejected', 6: 'other configuration change', 7: 'connection collision resolution', 8: 'out of resources' }],
};

export function describeNotification(n: Pick<Notification, 'code' | 'subcode'>): string {
  const entry = NAMES[n.code];
  if (!entry) return `error ${n.code}/${n.subcode}`;
  const sub = entry[1][n.subcode];
  return sub ? `${entry[0]}: ${sub} (${n.code}/${n.subcode})` : `${entry[0]} (${n.code}/${n.subcode})`;
}
