// gzip without compression (deflate "stored" blocks), for layers of weights that do not compress anyway.
// zlib at level 0 still copies every byte through deflate (~150 MB/s); this frames the bytes as they are and
// only computes the CRC (several GB/s). Blocks are always 65535 bytes, whatever the input chunking, so the
// output (and the layer digest) depends on the content alone.
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';

const BLOCK = 65535;
// Magic, deflate, no flags, mtime 0, no extra flags, OS 3 (Unix) fixed so every machine writes the same bytes.
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

function blockHeader(length: number, final: boolean): Buffer {
  const header = Buffer.alloc(5);
  header[0] = final ? 1 : 0;
  header.writeUInt16LE(length, 1);
  header.writeUInt16LE(~length & 0xffff, 3);
  return header;
}

export function storedGzip(): Transform {
  let crc = 0;
  let total = 0;
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let started = false;

  return new Transform({
    highWaterMark: 2 << 20,
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (!started) {
        this.push(HEADER);
        started = true;
      }
      crc = crc32(chunk, crc);
      total += chunk.length;
      pending.push(chunk);
      pendingLength += chunk.length;
      if (pendingLength >= BLOCK) {
        let data = Buffer.concat(pending, pendingLength);
        while (data.length >= BLOCK) {
          this.push(blockHeader(BLOCK, false));
          this.push(data.subarray(0, BLOCK));
          data = data.subarray(BLOCK);
        }
        pending = data.length ? [data] : [];
        pendingLength = data.length;
      }
      callback();
    },
    flush(callback: TransformCallback) {
      if (!started) this.push(HEADER);
      if (pendingLength > 0) {
        this.push(blockHeader(pendingLength, false));
        this.push(Buffer.concat(pending, pendingLength));
      }
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(crc >>> 0, 0);
      trailer.writeUInt32LE(total % 2 ** 32, 4);
      this.push(Buffer.concat([blockHeader(0, true), trailer]));
      callback();
    },
  });
}
