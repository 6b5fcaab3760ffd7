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

// ---- the same bytes, laid out: a stored gzip's size and any range of it, from the raw bytes' size and CRC ------

const BLOCK_HEADER = 5;
const STRIDE = BLOCK + BLOCK_HEADER;
const TRAILER = 8;
/** Blocks per raw read: 256 KiB at a time, into a scratch buffer each reader keeps. */
const BLOCKS_PER_READ = 4;
/** Blocks per piece of `range()`: about 1 MiB. */
const BLOCKS_PER_PIECE = 16;

/** The size of the stored gzip of `rawSize` bytes, as `storedGzip()` writes it. */
export function storedGzipSize(rawSize: number): number {
  return HEADER.length + Math.ceil(rawSize / BLOCK) * BLOCK_HEADER + rawSize + BLOCK_HEADER + TRAILER;
}

/** Reads raw bytes `[start, start + length)` into `target` at `at`. */
export type RawReader = (start: number, length: number, target: Buffer, at: number) => Promise<void>;

/**
 * Random access to what `storedGzip()` writes for a raw stream of `rawSize` bytes whose CRC-32 is `crc`. The CRC
 * is asked for only when a read reaches the trailer, so the bytes before it can go while it is being computed.
 */
export class StoredGzipLayout {
  readonly size: number;
  private readonly blocks: number;
  private readonly dataEnd: number;
  private scratch?: Buffer;

  constructor(
    private readonly readRaw: RawReader,
    private readonly rawSize: number,
    private readonly crc: number | (() => Promise<number>),
  ) {
    this.blocks = Math.ceil(rawSize / BLOCK);
    this.dataEnd = HEADER.length + this.blocks * BLOCK_HEADER + rawSize;
    this.size = storedGzipSize(rawSize);
  }

  /** Writes bytes `[position, position + length)` into `target` at `at`. */
  async read(position: number, length: number, target: Buffer, at = 0): Promise<void> {
    const end = position + length;
    const put = (piece: Buffer, pieceAt: number): void => {
      const from = Math.max(position, pieceAt);
      const to = Math.min(end, pieceAt + piece.length);
      if (to > from) piece.copy(target, at + from - position, from - pieceAt, to - pieceAt);
    };
    const blockAt = (index: number): number => HEADER.length + index * STRIDE;
    const blockLength = (index: number): number => Math.min(BLOCK, this.rawSize - index * BLOCK);
    // The raw bytes of block `index` that fall in [position, end).
    const rawFrom = (index: number): number =>
      index * BLOCK + Math.min(Math.max(0, position - blockAt(index) - BLOCK_HEADER), blockLength(index));
    const rawTo = (index: number): number =>
      index * BLOCK + Math.min(Math.max(0, end - blockAt(index) - BLOCK_HEADER), blockLength(index));

    put(HEADER, 0);
    const first = Math.max(0, Math.floor((position - HEADER.length) / STRIDE));
    const last = Math.min(this.blocks - 1, Math.floor((Math.min(end, this.dataEnd) - 1 - HEADER.length) / STRIDE));
    for (let batch = first; batch <= last; batch += BLOCKS_PER_READ) {
      const upTo = Math.min(last, batch + BLOCKS_PER_READ - 1);
      const from = rawFrom(batch);
      const to = rawTo(upTo);
      const scratch = (this.scratch ??= Buffer.allocUnsafe(BLOCK * BLOCKS_PER_READ));
      if (to > from) await this.readRaw(from, to - from, scratch, 0);
      for (let index = batch; index <= upTo; index++) {
        put(blockHeader(blockLength(index), false), blockAt(index));
        const a = rawFrom(index);
        const b = rawTo(index);
        if (b > a) {
          const gzipAt = blockAt(index) + BLOCK_HEADER + (a - index * BLOCK);
          scratch.copy(target, at + gzipAt - position, a - from, b - from);
        }
      }
    }
    if (end <= this.dataEnd) return;
    const trailer = Buffer.alloc(TRAILER);
    trailer.writeUInt32LE((typeof this.crc === 'number' ? this.crc : await this.crc()) >>> 0, 0);
    trailer.writeUInt32LE(this.rawSize % 2 ** 32, 4);
    put(Buffer.concat([blockHeader(0, true), trailer]), this.dataEnd);
  }

  /** Bytes `[start, end)` in pieces of about 1 MiB, each a new Buffer (a consumer may keep them). */
  async *range(start: number, end = this.size): AsyncGenerator<Buffer> {
    for (let position = start; position < end;) {
      const length = Math.min(STRIDE * BLOCKS_PER_PIECE, end - position);
      const piece = Buffer.allocUnsafe(length);
      await this.read(position, length, piece);
      yield piece;
      position += length;
    }
  }
}
