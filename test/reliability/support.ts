// Reliability-specific helpers: a tap on the bytes the client receives,
// independent of the library's parser. Shared helpers (broker, async, leak
// checks) live in test/support/.

export interface ConfirmTap {
  /** Every delivery tag the broker acked on the channel (multiple expanded over `published`). */
  readonly acked: Set<number>;
  readonly nacked: Set<number>;
  /** basic.ack / basic.nack frames seen. */
  readonly frames: number;
}

/**
 * Listens to a socket's 'data' (next to the client's own listener) and
 * records basic.ack / basic.nack (60/80, 60/120) on `channel`. `multiple`
 * expands down to the lowest tag not yet settled. Stops at the first
 * incomplete frame when the socket dies.
 */
export function tapConfirms(socket: NodeJS.EventEmitter, channel: number): ConfirmTap {
  const acked = new Set<number>();
  const nacked = new Set<number>();
  let frames = 0;
  let buf: Buffer = Buffer.alloc(0);
  let low = 1; // lowest tag not yet settled by the tap
  const settle = (into: Set<number>, tag: number, multiple: boolean): void => {
    if (!multiple) {
      into.add(tag);
    } else {
      for (let t = low; t <= tag; t++) if (!acked.has(t) && !nacked.has(t)) into.add(t);
    }
    while (acked.has(low) || nacked.has(low)) low++;
  };
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let pos = 0;
    while (buf.length - pos >= 8) {
      const type = buf[pos]!;
      const ch = buf.readUInt16BE(pos + 1);
      const size = buf.readUInt32BE(pos + 3);
      if (buf.length - pos < 8 + size) break;
      if (type === 1 && ch === channel && size >= 13) {
        const cls = buf.readUInt16BE(pos + 7);
        const m = buf.readUInt16BE(pos + 9);
        if (cls === 60 && (m === 80 || m === 120)) {
          frames++;
          const tag = Number(buf.readBigUInt64BE(pos + 11));
          const multiple = (buf[pos + 19]! & 1) === 1;
          settle(m === 80 ? acked : nacked, tag, multiple);
        }
      }
      pos += 8 + size;
    }
    buf = buf.subarray(pos);
  });
  return {
    acked,
    nacked,
    get frames() {
      return frames;
    },
  };
}
