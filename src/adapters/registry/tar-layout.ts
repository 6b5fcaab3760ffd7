// The bytes of a deterministic tar, laid out before any file is read: headers (ustar, PAX for long or non-ASCII
// names, byte for byte what tar-stream's pack writes), file contents by reference, zero padding, end of archive.
// Knowing where every byte comes from gives the layer's size up front and lets an upload resume at any offset.
import { open, type FileHandle } from 'node:fs/promises';

const BLOCK = 512;
const END_OF_TAR = Buffer.alloc(2 * BLOCK);
const TYPEFLAG = { file: 0, symlink: 2, directory: 5, 'pax-header': 72 } as const;

export interface TarEntry {
  /** Path in the archive, `/`-separated; directories end with `/`. */
  name: string;
  type: 'directory' | 'file' | 'symlink';
  mode: number;
  /** Regular files: their size, and where their bytes are on disk. */
  size: number;
  source?: string;
  linkname?: string;
}

/** Literal bytes (headers, padding), or `size` bytes of the file `path` (file number `file` of the layout). */
export type TarSegment = { bytes: Buffer } | { path: string; size: number; file: number };

export interface TarLayout {
  segments: TarSegment[];
  /** Offset of each segment in the archive. */
  offsets: number[];
  size: number;
  /** The regular files, in archive order. */
  files: { name: string; path: string; size: number }[];
}

export function tarLayout(entries: TarEntry[], mtime: Date): TarLayout {
  const segments: TarSegment[] = [];
  const files: TarLayout['files'] = [];
  let pending: Buffer[] = [];
  const flush = (): void => {
    const bytes = Buffer.concat(pending);
    if (bytes.length) segments.push({ bytes });
    pending = [];
  };
  for (const entry of entries) {
    const size = entry.type === 'file' ? entry.size : 0;
    pending.push(...encodeEntryHeader({ ...entry, size }, mtime));
    if (entry.type === 'file' && size > 0) {
      flush();
      segments.push({ path: entry.source!, size, file: files.length });
      pending.push(padding(size));
    }
    if (entry.type === 'file') files.push({ name: entry.name, path: entry.source!, size });
  }
  pending.push(END_OF_TAR);
  flush();
  const offsets: number[] = [];
  let size = 0;
  for (const segment of segments) {
    offsets.push(size);
    size += segmentLength(segment);
  }
  return { segments, offsets, size, files };
}

export function segmentLength(segment: TarSegment): number {
  return 'bytes' in segment ? segment.bytes.length : segment.size;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest ? Buffer.alloc(BLOCK - rest) : Buffer.alloc(0);
}

interface Header {
  name: string;
  mode: number;
  size: number;
  type: keyof typeof TYPEFLAG;
  linkname?: string;
}

/** One ustar header, or a PAX extended header and the entry's header (named `PaxHeader`, as tar-stream names it). */
function encodeEntryHeader(entry: Header, mtime: Date): Buffer[] {
  const plain = encodeHeader(entry, mtime);
  if (plain) return [plain];
  const pax = Buffer.from(
    paxRecord('path', entry.name) + (entry.linkname ? paxRecord('linkpath', entry.linkname) : ''),
  );
  const linkname = entry.linkname ? 'PaxHeader' : undefined;
  const paxHeader = encodeHeader(
    { name: 'PaxHeader', mode: entry.mode, size: pax.length, type: 'pax-header', linkname },
    mtime,
  )!;
  const header = encodeHeader(
    { name: 'PaxHeader', mode: entry.mode, size: entry.size, type: entry.type, linkname },
    mtime,
  )!;
  return [paxHeader, pax, padding(pax.length), header];
}

/** `<length> key=value\n`, the length counting itself. */
function paxRecord(key: string, value: string): string {
  const record = ` ${key}=${value}\n`;
  const length = Buffer.byteLength(record);
  let digits = Math.floor(Math.log10(length)) + 1;
  if (length + digits >= 10 ** digits) digits++;
  return `${length + digits}${record}`;
}

/** A ustar header (owner 0:0, no user or group names), or undefined when the names do not fit one. */
function encodeHeader(header: Header, mtime: Date): Buffer | undefined {
  let name = header.name;
  if (Buffer.byteLength(name) !== name.length) return undefined;
  let prefix = '';
  while (name.length > 100) {
    const slash = name.indexOf('/');
    if (slash === -1) return undefined;
    prefix += prefix ? `/${name.slice(0, slash)}` : name.slice(0, slash);
    name = name.slice(slash + 1);
  }
  if (prefix.length > 155) return undefined;
  if (header.linkname && Buffer.byteLength(header.linkname) > 100) return undefined;
  const buf = Buffer.alloc(BLOCK);
  buf.write(name, 0);
  buf.write(octal(header.mode & 0o7777, 6), 100);
  buf.write(octal(0, 6), 108);
  buf.write(octal(0, 6), 116);
  if (header.size.toString(8).length > 11) {
    // base-256 for sizes of 8 GiB and more
    buf[124] = 0x80;
    let rest = header.size;
    for (let i = 11; i > 0; i--) {
      buf[124 + i] = rest & 0xff;
      rest = Math.floor(rest / 0x100);
    }
  } else {
    buf.write(octal(header.size, 11), 124);
  }
  buf.write(octal(Math.floor(mtime.getTime() / 1000), 11), 136);
  buf[156] = 0x30 + TYPEFLAG[header.type];
  if (header.linkname) buf.write(header.linkname, 157);
  buf.write('ustar\u000000', 257, 'latin1');
  buf.write(octal(0, 6), 329);
  buf.write(octal(0, 6), 337);
  if (prefix) buf.write(prefix, 345);
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += buf[i]!;
  for (let i = 156; i < BLOCK; i++) sum += buf[i]!;
  buf.write(octal(sum, 6), 148);
  return buf;
}

function octal(value: number, digits: number): string {
  const text = value.toString(8);
  return text.length > digits ? `${'7'.repeat(digits)} ` : `${text.padStart(digits, '0')} `;
}

export class FileChangedError extends Error {}

/**
 * Reads archive bytes `[start, start + length)` into `target` at `at`: literal segments are copied, file bytes read
 * where they lie on disk. A file that is shorter than when the layout was made is an error naming it.
 */
export class TarReader {
  private handle?: { path: string; file: FileHandle };

  constructor(private readonly layout: TarLayout) {}

  async read(start: number, length: number, target: Buffer, at = 0): Promise<void> {
    const { segments, offsets } = this.layout;
    let index = segmentAt(offsets, start);
    let position = start;
    const stop = start + length;
    while (position < stop) {
      const segment = segments[index]!;
      const inside = position - offsets[index]!;
      const count = Math.min(segmentLength(segment) - inside, stop - position);
      const into = at + (position - start);
      if ('bytes' in segment) {
        segment.bytes.copy(target, into, inside, inside + count);
      } else {
        const file = await this.fileHandle(segment.path);
        let done = 0;
        while (done < count) {
          const { bytesRead } = await file.read(target, into + done, count - done, inside + done);
          if (bytesRead === 0) {
            throw new FileChangedError(`model file ${segment.path} changed while the image was built (it got shorter)`);
          }
          done += bytesRead;
        }
      }
      position += count;
      index++;
    }
  }

  async close(): Promise<void> {
    await this.handle?.file.close();
    this.handle = undefined;
  }

  private async fileHandle(path: string): Promise<FileHandle> {
    if (this.handle?.path === path) return this.handle.file;
    await this.close();
    this.handle = { path, file: await open(path, 'r') };
    return this.handle.file;
  }
}

/** The index of the segment that holds byte `offset` (the last one starting at or before it). */
function segmentAt(offsets: number[], offset: number): number {
  let low = 0;
  let high = offsets.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (offsets[middle]! <= offset) low = middle;
    else high = middle - 1;
  }
  return low;
}
