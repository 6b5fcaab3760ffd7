// The `<path>.part` a download writes into. Bytes are hashed only once they are on disk, so after a broken connection
// `size` is exactly what the file holds and the hashes cover exactly those bytes: the resume continues both.
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

export class PartFile {
  size = 0;
  private sha256: Hash = createHash('sha256');
  private md5?: Hash;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly withMd5: boolean,
  ) {
    this.md5 = withMd5 ? createHash('md5') : undefined;
  }

  static async create(path: string, withMd5: boolean): Promise<PartFile> {
    return new PartFile(path, await open(path, 'w'), withMd5);
  }

  /** Back to an empty file: a server that answered 200 to a Range, or a hash that failed after a resume. */
  async reset(): Promise<void> {
    await this.handle.truncate(0);
    this.size = 0;
    this.sha256 = createHash('sha256');
    this.md5 = this.withMd5 ? createHash('md5') : undefined;
  }

  /** Appends a chunk at `size`; hashes and size move only once it is on disk. */
  async append(chunk: Buffer): Promise<void> {
    await writeAll(this.handle, chunk, this.size);
    this.size += chunk.length;
    this.sha256.update(chunk);
    this.md5?.update(chunk);
  }

  /** The hashes of the whole file; the PartFile is done after this. */
  digests(): { sha256: string; md5?: string } {
    return { sha256: this.sha256.digest('hex'), md5: this.md5?.digest('hex') };
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** A positional write can be short; the rest follows until the chunk is on disk. */
async function writeAll(handle: FileHandle, chunk: Buffer, position: number): Promise<void> {
  for (let done = 0; done < chunk.length;) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position + done);
    done += bytesWritten;
  }
}
