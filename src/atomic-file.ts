// Atomic file replacement: write a temporary file in the target's directory, fsync it, rename
// it over the target, fsync the directory. A failed or interrupted write never leaves the
// target half-written: readers see the old file or the new one. A failure removes the
// temporary file; a killed process may leave one behind (named .<name>.<pid>.<random>.tmp).
import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ScmError } from './errors.js';

export type AtomicWriteStage = 'write' | 'fsync' | 'rename' | 'dirsync';

/**
 * For tests only: a function called before each stage (before writing chunk `index` for
 * 'write'); throwing from it simulates a failure at that point.
 */
export const atomicWriteHooks: { fault: ((stage: AtomicWriteStage, index: number) => void) | null } = { fault: null };

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let done = 0;
  while (done < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done);
    done += bytesWritten;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (e) {
    // Some platforms (Windows) cannot open or fsync a directory; the rename is all there is.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw e;
  } finally {
    await handle?.close();
  }
}

function ioError(e: unknown, where: string, target: string): ScmError {
  if (e instanceof ScmError) return e;
  const err = e as NodeJS.ErrnoException;
  const reason = err.code === 'ENOENT' ? `directory ${dirname(target)} does not exist` : (err.message ?? String(e));
  return new ScmError(`${where}: cannot write ${target}: ${reason}`, 'E_IO');
}

/**
 * Replaces `path` atomically with the concatenation of `chunks` (produced lazily, so a large
 * file is never held in memory twice). An error thrown by the chunk producer aborts the write
 * like an I/O error: the previous file stays. Keeps the mode of an existing target.
 */
export async function writeFileAtomic(path: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, where: string): Promise<void> {
  const target = resolve(path);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fault = (stage: AtomicWriteStage, index = 0) => atomicWriteHooks.fault?.(stage, index);
  let handle: FileHandle | undefined;
  let created = false, renamed = false;
  try {
    const existingMode = await stat(target).then((s) => (s.isFile() ? s.mode & 0o7777 : undefined), () => undefined);
    handle = await open(temp, 'wx', 0o666);
    created = true;
    if (existingMode !== undefined) await handle.chmod(existingMode);
    let index = 0;
    for await (const chunk of chunks) {
      fault('write', index++);
      await writeAll(handle, chunk);
    }
    fault('fsync');
    await handle.sync();
    await handle.close();
    handle = undefined;
    fault('rename');
    await rename(temp, target);
    renamed = true;
    fault('dirsync');
    await syncDirectory(dirname(target));
  } catch (e) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    if (created && !renamed) await unlink(temp).catch(() => undefined);
    throw ioError(e, where, target);
  }
}
