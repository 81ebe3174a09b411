/**
 * Misbehaving WebSocket clients built on a bare TCP socket (the `ws` library is too polite):
 *  - a slow reader: upgrades, then writes fix messages and never reads a byte (not even pings);
 *  - slowloris: sends the HTTP upgrade request one byte a second, or upgrades and then sends a
 *    frame's payload one byte a second.
 * Client frames are masked (RFC 6455 5.3) with an all-zero key, which leaves the payload as is.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export function frame(payload: Buffer, opcode = 0x1): Buffer {
  const n = payload.length;
  let head: Buffer;
  if (n < 126) {
    head = Buffer.from([0x80 | opcode, 0x80 | n]);
  } else if (n < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

export function upgradeRequest(port: number, path: string, token: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`;
}

export interface RawConn {
  socket: Socket;
  /** Resolves with the time the server closed or reset the connection. */
  closed: Promise<number>;
  readonly isClosed: boolean;
}

function open(port: number): RawConn {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  let isClosed = false;
  const closed = new Promise<number>((r) => socket.once('close', () => {
    isClosed = true;
    r(Date.now());
  }));
  return { socket, closed, get isClosed() { return isClosed; } };
}

/** Upgrades on a raw socket; resolves once the 101 has arrived. */
export function rawUpgrade(port: number, path: string, token: string, timeoutMs = 5000): Promise<RawConn> {
  const c = open(port);
  return new Promise((resolve, reject) => {
    let got = '';
    const t = setTimeout(() => {
      c.socket.destroy();
      reject(new Error('upgrade timed out'));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(t);
      c.socket.off('data', onData);
      if (!got.startsWith('HTTP/1.1 101')) {
        c.socket.destroy();
        reject(new Error(`upgrade refused: ${got.split('\r\n')[0]}`));
        return;
      }
      resolve(c);
    };
    c.socket.on('data', onData);
    c.socket.once('connect', () => c.socket.write(upgradeRequest(port, path, token)));
    c.socket.once('close', () => {
      clearTimeout(t);
      reject(new Error('closed during upgrade'));
    });
  });
}

/**
 * A client that never reads: writes `message` as fast as the socket takes it (waiting for
 * 'drain' when the kernel buffer is full) until stopped or the server drops it.
 */
export class SlowReader {
  bytesWritten = 0;
  messages = 0;
  private stopped = false;

  constructor(readonly conn: RawConn, private readonly message: Buffer) {
    conn.socket.pause(); // never read: replies and pings pile up unread
    void this.run();
  }

  private async run(): Promise<void> {
    const s = this.conn.socket;
    while (!this.stopped && !this.conn.isClosed) {
      const ok = s.write(this.message);
      this.bytesWritten += this.message.length;
      this.messages++;
      if (!ok) {
        await new Promise<void>((r) => {
          const done = (): void => {
            clearTimeout(t);
            s.off('drain', done);
            r();
          };
          const t = setTimeout(done, 250);
          s.on('drain', done);
        });
      } else if (this.messages % 50 === 0) {
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.conn.socket.destroy();
  }
}

/** Slowloris on the HTTP upgrade: the request's bytes one per `everyMs`. */
export function slowUpgrade(port: number, path: string, token: string, everyMs: number): { conn: RawConn; stop(): void } {
  const c = open(port);
  const bytes = Buffer.from(upgradeRequest(port, path, token), 'latin1');
  let at = 0;
  const timer = setInterval(() => {
    if (c.isClosed || at >= bytes.length) return;
    c.socket.write(bytes.subarray(at, at + 1));
    at++;
  }, everyMs);
  c.socket.on('data', () => undefined);
  void c.closed.then(() => clearInterval(timer));
  return { conn: c, stop: () => { clearInterval(timer); c.socket.destroy(); } };
}

/** Slowloris mid-frame: a proper upgrade, then a frame header for `size` bytes and the payload one byte per `everyMs`. */
export async function slowFrame(port: number, path: string, token: string, size: number, everyMs: number): Promise<{ conn: RawConn; stop(): void }> {
  const c = await rawUpgrade(port, path, token);
  const full = frame(Buffer.alloc(size, 0x20));
  const headerLen = full.length - size;
  c.socket.write(full.subarray(0, headerLen));
  let at = headerLen;
  const timer = setInterval(() => {
    if (c.isClosed || at >= full.length - 1) return; // never completes the frame
    c.socket.write(full.subarray(at, at + 1));
    at++;
  }, everyMs);
  c.socket.on('data', () => undefined); // reads (so the server's pings arrive) but cannot answer mid-frame
  void c.closed.then(() => clearInterval(timer));
  return { conn: c, stop: () => { clearInterval(timer); c.socket.destroy(); } };
}
