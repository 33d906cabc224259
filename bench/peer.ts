// A long-lived Python peer process speaking JSON lines (bench/peers/train_torch.py serve): one
// request a line on stdin, one response a line on stdout. One process serves a whole
// benchmark run, so that our cases and the peer's can alternate (the same load for both).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './record.js';

export const TRAIN_PEER = path.join(REPO_ROOT, 'bench', 'peers', 'train_torch.py');

export interface PeerHello {
  torch: string;
  threads: number;
  mkldnnBf16: boolean | null;
  python: string;
  /** OMP_WAIT_POLICY of the peer process (null: unset, the OpenMP default). */
  ompWaitPolicy: string | null;
}

export class JsonLinesPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: ((line: string | null) => void)[] = [];
  private stderr = '';
  private exited: number | null = null;

  constructor(script: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn('python3', [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child.stderr.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-8000); });
    const lines = createInterface({ input: this.child.stdout });
    lines.on('line', (line) => this.pending.shift()?.(line));
    this.child.on('close', (code) => {
      this.exited = code ?? -1;
      for (const p of this.pending.splice(0)) p(null);
    });
    this.child.on('error', () => { /* reported through 'close' / the first request */ });
    this.child.stdin.on('error', () => { /* the peer has gone: the request answers null */ });
  }

  /** The last lines the peer wrote to stderr. */
  get errorText(): string {
    return this.stderr.trim();
  }

  get exitCode(): number | null {
    return this.exited;
  }

  /** Sends one request; resolves to the parsed response, or null when the peer has exited. */
  request<T>(message: object): Promise<T | null> {
    if (this.exited !== null) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.pending.push((line) => resolve(line === null ? null : (JSON.parse(line) as T)));
      this.child.stdin.write(JSON.stringify(message) + '\n');
    });
  }

  async close(): Promise<void> {
    if (this.exited !== null) return;
    const done = new Promise((r) => this.child.once('close', r));
    this.child.stdin.end(JSON.stringify({ op: 'quit' }) + '\n');
    await done;
  }
}

/** Whether `python3 -c "import torch"` works (a quick probe for tests and --help). */
export function torchImportable(): { ok: boolean; reason: string } {
  const r = spawnSync('python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.error) return { ok: false, reason: `python3 cannot run (${r.error.message})` };
  if (r.status !== 0) return { ok: false, reason: `torch not installed (${r.stderr.trim().split('\n').pop()})` };
  return { ok: true, reason: `torch ${r.stdout.trim()}` };
}

/**
 * Starts the training peer; { unavailable } with the reason when python3 or torch is missing.
 * `ompWaitPolicy` sets OMP_WAIT_POLICY for it (PyTorch's OpenMP threads spin between ops by
 * default, which a loaded machine may punish); undefined keeps the environment's.
 */
export async function startTrainPeer(threads: number, ompWaitPolicy?: 'passive' | 'active'): Promise<{ peer: JsonLinesPeer; hello: PeerHello } | { unavailable: string }> {
  const env = ompWaitPolicy ? { ...process.env, OMP_WAIT_POLICY: ompWaitPolicy.toUpperCase() } : process.env;
  const peer = new JsonLinesPeer(TRAIN_PEER, ['serve'], env);
  const r = await peer.request<{ ok: boolean; error?: string } & PeerHello>({ op: 'hello', threads });
  if (r === null) {
    const why = peer.exitCode === 3 ? peer.errorText || 'torch not installed' : `the PyTorch peer exited (${peer.exitCode}): ${peer.errorText.split('\n').slice(-3).join(' ') || 'python3 missing?'}`;
    return { unavailable: why };
  }
  if (!r.ok) {
    await peer.close();
    return { unavailable: `the PyTorch peer failed: ${r.error}` };
  }
  return { peer, hello: { torch: r.torch, threads: r.threads, mkldnnBf16: r.mkldnnBf16, python: r.python, ompWaitPolicy: env.OMP_WAIT_POLICY ?? null } };
}
