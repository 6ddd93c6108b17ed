import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { randomFillSync } from 'node:crypto';

/** Longest a synchronous write may spin on a full socket buffer (it is never full on an idle connection). */
const WRITE_DEADLINE_MS = 50;

/** Largest message written this way: more might not fit the kernel's send buffer at once. */
export const MAX_WRITE_NOW_BYTES = 64 * 1024;

/**
 * Writes `bytes` on `socket` at once, synchronously, from this thread: for the goodbye said in an
 * 'exit' listener, where no event loop turn is left. node has no synchronous socket write, but
 * a plain TCP socket's file descriptor takes one (`fs.writeSync`), and the kernel delivers what it
 * took after the process ended. Only a socket with nothing queued, in node or in libuv, is used:
 * bytes written under a half-sent message would garble both. TLS sockets are not (the bytes
 * would have to be encrypted), nor sockets without a descriptor (Windows, pipes). Returns whether
 * every byte was written; a socket that took only part of them is destroyed, so that the garbled
 * message can never be followed by another.
 */
export function writeNow(socket: Socket | undefined, bytes: Buffer | undefined): boolean {
  if (socket === undefined || bytes === undefined || bytes.length > MAX_WRITE_NOW_BYTES) return false;
  const handle = (socket as unknown as { _handle?: { fd?: unknown; writeQueueSize?: unknown } | null })._handle;
  const fd = handle?.fd;
  const idle =
    !socket.destroyed && socket.writable && !socket.connecting && socket.writableLength === 0 && (handle?.writeQueueSize ?? 0) === 0;
  if (!idle || typeof fd !== 'number' || fd < 0 || 'encrypted' in socket) return false;
  let written = 0;
  const deadline = Date.now() + WRITE_DEADLINE_MS;
  try {
    while (written < bytes.length) {
      try {
        written += writeSync(fd, bytes, written);
      } catch (error) {
        // A full send buffer (never on an idle connection, but a slow peer may ack late): try again until the deadline.
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) throw error;
      }
    }
    return true;
  } catch {
    if (written > 0) socket.destroy();
    return false;
  }
}

/**
 * A WebSocket text message of one frame, masked as a client must send it (see `maskedFrame`).
 * Undefined for a payload of 64 KiB or more (longer than `writeNow` writes).
 */
export function webSocketTextFrame(text: string): Buffer | undefined {
  const payload = Buffer.from(text, 'utf8');
  return payload.length >= 65_536 ? undefined : maskedFrame(0x1, payload);
}

/**
 * One final WebSocket frame of `opcode`, masked as a client must send it (RFC 6455 section 5.2):
 * FIN and the opcode, the mask bit and the payload length (7 bits, or 126 + 16 bits, or 127 + 64
 * bits), the 4-byte mask, then the payload XOR the mask; one buffer, so it is one socket write.
 */
export function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + lengthBytes + 4 + length);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | (lengthBytes === 0 ? length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) frame.writeUInt16BE(length, 2);
  else if (lengthBytes === 8) {
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  const maskAt = 2 + lengthBytes;
  randomFillSync(frame, maskAt, 4);
  const payloadAt = maskAt + 4;
  for (let i = 0; i < length; i += 1) frame[payloadAt + i] = (payload[i] as number) ^ (frame[maskAt + (i & 3)] as number);
  return frame;
}
