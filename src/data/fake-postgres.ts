// A scripted PostgreSQL server for tests of clients: it speaks just enough of
// the wire protocol (v3: startup, cleartext password, simple query, errors)
// to answer the way a test says, including not at all. Not for production.
import { createServer, type Server, type Socket } from 'node:net';

export interface FakePgScript {
  /** Ask for a cleartext password before anything else. */
  readonly askPassword?: boolean;
  /** Do nothing at this step: never answer. */
  readonly silentAt?: 'startup' | 'query';
  /** Close the connection when the startup message arrives. */
  readonly hangUpAtStartup?: boolean;
  /** Refuse the login with this SQLSTATE (after the password, if asked). */
  readonly loginError?: { code: string; message: string };
  /** Answer the query with this error instead of rows. */
  readonly queryError?: { code: string; message: string };
  /** The result: column names with their type OIDs, and rows of text or null. */
  readonly columns?: readonly (readonly [name: string, typeOid: number])[];
  readonly rows?: readonly (readonly (string | null)[])[];
}

export interface FakePg {
  readonly host: string;
  readonly port: number;
  /** Passwords clients sent, in order. */
  readonly passwords: string[];
  /** Queries clients sent, in order. */
  readonly queries: string[];
  /** Connections not yet closed by either side. */
  openConnections(): number;
  close(): Promise<void>;
}

export async function startFakePg(host: string, script: FakePgScript): Promise<FakePg> {
  const passwords: string[] = [];
  const queries: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let started = false;
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        // The startup message has no type byte; every later one does.
        const head = started ? 5 : 4;
        if (buf.length < head) return;
        const len = buf.readInt32BE(started ? 1 : 0);
        const total = (started ? 1 : 0) + len;
        if (buf.length < total) return;
        const type = started ? String.fromCharCode(buf[0]!) : 'startup';
        const body = buf.subarray(head, total);
        buf = buf.subarray(total);
        started = true;
        respond(socket, type, body);
      }
    });
  });
  const afterLogin = (socket: Socket): void => {
    if (script.loginError) return void socket.end(errorResponse('FATAL', script.loginError));
    socket.write(Buffer.concat([message('R', int32(0)), message('Z', Buffer.from('I'))]));
  };
  const respond = (socket: Socket, type: string, body: Buffer): void => {
    if (type === 'startup') {
      if (script.hangUpAtStartup) return void socket.destroy();
      if (script.silentAt === 'startup') return;
      if (script.askPassword) return void socket.write(message('R', int32(3)));
      return afterLogin(socket);
    }
    if (type === 'p') {
      passwords.push(body.subarray(0, body.indexOf(0)).toString('utf8'));
      return afterLogin(socket);
    }
    if (type === 'Q') {
      queries.push(body.subarray(0, body.indexOf(0)).toString('utf8'));
      if (script.silentAt === 'query') return;
      if (script.queryError) return void socket.write(Buffer.concat([errorResponse('ERROR', script.queryError), message('Z', Buffer.from('I'))]));
      const columns = script.columns ?? [];
      const rows = script.rows ?? [];
      socket.write(Buffer.concat([rowDescription(columns), ...rows.map(dataRow), message('C', cstring(`SELECT ${rows.length}`)), message('Z', Buffer.from('I'))]));
      return;
    }
    if (type === 'X') socket.end();
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const port = (server.address() as { port: number }).port;
  return {
    host,
    port,
    passwords,
    queries,
    openConnections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

function cstring(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
}

function message(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
}

function errorResponse(severity: 'ERROR' | 'FATAL', e: { code: string; message: string }): Buffer {
  return message('E', Buffer.concat([Buffer.from('S'), cstring(severity), Buffer.from('C'), cstring(e.code), Buffer.from('M'), cstring(e.message), Buffer.from([0])]));
}

function rowDescription(columns: readonly (readonly [string, number])[]): Buffer {
  const fields = columns.map(([name, oid]) => Buffer.concat([cstring(name), int32(0), int16(0), int32(oid), int16(-1), int32(-1), int16(0)]));
  return message('T', Buffer.concat([int16(columns.length), ...fields]));
}

function dataRow(values: readonly (string | null)[]): Buffer {
  const cols = values.map((v) => (v === null ? int32(-1) : Buffer.concat([int32(Buffer.byteLength(v)), Buffer.from(v, 'utf8')])));
  return message('D', Buffer.concat([int16(values.length), ...cols]));
}
