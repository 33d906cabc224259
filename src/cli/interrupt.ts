// Ctrl-C (SIGINT) and SIGTERM as an AbortSignal: the first signal aborts the running operation
// cleanly (a trainer finishes its step and writes a final checkpoint); a second one exits at
// once (checkpoint files are replaced atomically, so the previous one stays intact).
export interface Interrupt {
  signal: AbortSignal;
  /** The signal received, if any. */
  readonly received: NodeJS.Signals | undefined;
  /** 128 + the signal's number (130 for SIGINT, 143 for SIGTERM). */
  readonly exitCode: number;
  dispose(): void;
}

const NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };

/** Installs the handlers; `onFirst` says what happens now (e.g. "writing the checkpoint"). */
export function catchInterrupts(onFirst: (signal: NodeJS.Signals) => void): Interrupt {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (received !== undefined) {
      process.stderr.write(`\n${sig} again: exiting now\n`);
      process.exit(128 + (NUMBERS[sig] ?? 2));
    }
    received = sig;
    onFirst(sig);
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    get exitCode() {
      return 128 + (received ? (NUMBERS[received] ?? 2) : 2);
    },
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
