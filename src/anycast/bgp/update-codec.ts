// UPDATE message body (RFC 4271 §4.3): withdrawn routes, path attributes and
// NLRI, with the §6.3 checks that need the whole message (mandatory attributes).
import { AttrType, ErrorCode, UpdateSubcode } from './constants.js';
import type { CodecContext, Decoded, UpdateMessage } from './messages.js';
import { fail, ok } from './messages.js';
import { decodePathAttributes, encodePathAttributes } from './path-attributes.js';
import { decodePrefixes, encodePrefixes } from './prefix.js';

export function encodeUpdateBody(m: UpdateMessage, ctx: CodecContext): Buffer {
  const withdrawn = encodePrefixes(m.withdrawn);
  const attrs = encodePathAttributes(m.attributes, ctx);
  const head = Buffer.alloc(2);
  head.writeUInt16BE(withdrawn.length);
  const alen = Buffer.alloc(2);
  alen.writeUInt16BE(attrs.length);
  return Buffer.concat([head, withdrawn, alen, attrs, encodePrefixes(m.nlri)]);
}

export function decodeUpdateBody(body: Buffer, ctx: CodecContext): Decoded<UpdateMessage> {
  if (body.length < 4) return fail(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST);
  const wlen = body.readUInt16BE(0);
  if (2 + wlen + 2 > body.length) return fail(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST);
  const alen = body.readUInt16BE(2 + wlen);
  if (4 + wlen + alen > body.length) return fail(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST);
  const withdrawn = decodePrefixes(body.subarray(2, 2 + wlen), 4);
  if (!withdrawn) return fail(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.INVALID_NETWORK_FIELD);
  const attrs = decodePathAttributes(body.subarray(4 + wlen, 4 + wlen + alen), ctx);
  if (attrs.kind === 'error') return attrs;
  const nlri = decodePrefixes(body.subarray(4 + wlen + alen), 4);
  if (!nlri) return fail(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.INVALID_NETWORK_FIELD);
  const a = attrs.value;
  // Routes being announced need ORIGIN and AS_PATH; IPv4 NLRI also NEXT_HOP
  // (MP_REACH carries its own next hop).
  const announces = nlri.length > 0 || (a.mpReach?.nlri.length ?? 0) > 0;
  if (announces) {
    const missing = a.origin === undefined ? AttrType.ORIGIN
      : a.asPath === undefined ? AttrType.AS_PATH
        : nlri.length > 0 && a.nextHop === undefined ? AttrType.NEXT_HOP : undefined;
    if (missing !== undefined) return fail(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE, Uint8Array.from([missing]));
  }
  return ok({ type: 'update', withdrawn, attributes: a, nlri });
}
