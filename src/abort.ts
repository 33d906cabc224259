// AbortSignal support: a shared Int32Array(1) flag the native engine polls, plus an
// immediate rejection with E_ABORTED when the signal fires.
import { ScmError, argumentError } from './errors.js';

export function abortedError(signal: AbortSignal): ScmError {
  const why = signal.reason instanceof Error ? `: ${signal.reason.message}` : '';
  return new ScmError(`the operation was aborted${why}`, 'E_ABORTED');
}

/** Runs `start(flag)`; rejects with E_ABORTED as soon as `signal` fires (and sets the flag). */
export async function withAbort<T>(signal: AbortSignal | undefined, start: (flag: Int32Array | undefined) => Promise<T>): Promise<T> {
  if (signal === undefined) return start(undefined);
  if (typeof signal !== 'object' || signal === null || typeof (signal as AbortSignal).aborted !== 'boolean') {
    throw argumentError('signal must be an AbortSignal');
  }
  if (signal.aborted) throw abortedError(signal);
  const flag = new Int32Array(1);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      Atomics.store(flag, 0, 1);
      reject(abortedError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([start(flag), aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
