// Small helpers for the JSON-over-HTTP control APIs (controller, admin,
// federation): bounded body reads and uniform error replies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EntenteError } from './errors.js';

export async function readJsonBody(req: IncomingMessage, limitBytes = 256 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new EntenteError('BODY_TOO_LARGE', `request body over ${limitBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text.length === 0 ? {} : (JSON.parse(text) as unknown);
  } catch {
    throw new EntenteError('BAD_JSON', 'request body is not JSON');
  }
}

/** readJsonBody for APIs whose bodies are objects: `null`, arrays and scalars are refused as BAD_JSON (a 400). */
export async function readJsonObject(req: IncomingMessage, limitBytes?: number): Promise<Record<string, unknown>> {
  const body = await readJsonBody(req, limitBytes);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new EntenteError('BAD_JSON', `request body must be a JSON object, not ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`);
  }
  return body as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}
