// A SPIFFE bundle as it travels in JSON messages and caches: the standard
// document, parsed back with bundleFromDocument. (The identity layer keeps
// spiffe_sequence as a bigint; here it is a JSON number, exact up to 2^53,
// which Entente's own sequences — seconds since the epoch — stay far below.)
import { bundleToJson, type TrustBundle } from '../identity/trust-bundle.js';

export type WireBundle = Readonly<Record<string, unknown>>;

export function toWireBundle(b: TrustBundle): WireBundle {
  return JSON.parse(bundleToJson(b)) as WireBundle;
}
