// scm sample: draws samples from a model (a checkpoint or a bundled one) and writes a PNG: a
// grid of images, or a scatter plot for 2-D models.
import { argumentError, ScmError } from '../errors.js';
import { savePng, type PngOptions } from '../image.js';
import { BUNDLED_MODELS, loadModel, type Model } from '../model.js';
import { maxTime, MID_TIME, sample, type Samples } from '../sample.js';
import { applyThreads, BACKEND_OPTIONS, checkModelSource, defineCommand, describeBackend, describeModel } from './command.js';
import { catchInterrupts } from './interrupt.js';
import type { OptionTable, OptionValues } from './options.js';
import { formatDuration } from './progress.js';

export const SAMPLE_OPTIONS = {
  model: { type: 'string', required: true, meta: 'path|name', group: 'model', description: `the model: a checkpoint file (.safetensors) or a bundled model (${BUNDLED_MODELS.join(', ')})` },
  'no-ema': { type: 'flag', group: 'model', description: 'sample with the raw weights instead of their EMA' },
  count: { type: 'int', min: 1, max: 1 << 24, defaultText: '64; K x classes with --per-class', group: 'sampling', description: 'number of samples' },
  steps: { type: 'int', min: 1, max: 100_000, defaultText: '2 for a consistency model, 32 for a diffusion model', group: 'sampling', description: 'consistency model: 1 or 2 steps (from t_max = atan(80/sd), through t = 1.1); diffusion model: solver steps on the EDM rho = 7 grid (Heun: 2 x steps - 1 NFE)' },
  times: { type: 'numbers', above: 0, below: Math.PI / 2, items: [1, 1000], meta: 't1,t2,..', group: 'sampling', description: 'explicit decreasing TrigFlow times in (0, pi/2), instead of --steps (e.g. 1.56,1.1,0.5 for 3 consistency steps)' },
  solver: { type: 'choice', choices: ['heun', 'euler'], defaultText: 'heun', group: 'sampling', description: 'diffusion models only: heun (second order, the last step Euler) or euler (DDIM)' },
  guidance: { type: 'number', min: 0, max: 1000, meta: 'w', defaultText: '1 (no guidance); a guided consistency student: the middle of its training range', group: 'sampling', description: 'classifier-free guidance scale (class-conditional models)' },
  labels: { type: 'strings', items: [1, 1 << 24], meta: 'c1,c2,..', defaultText: 'sample i gets class i mod classes', group: 'sampling', description: "classes as numbers or names (e.g. 0,9 or sneaker), repeated to fill --count; 'none' is the null label (unguided, no class)" },
  'per-class': { type: 'int', min: 1, max: 10_000, meta: 'K', group: 'sampling', description: 'K samples of each class, one row per class (class-conditional models)' },
  seed: { type: 'int', min: 0, default: 0, group: 'sampling', description: 'the noise seed (sample i gets the same noise for a given seed, whatever --count and --batch-size)' },
  'batch-size': { type: 'int', min: 1, max: 65536, default: 256, group: 'sampling', description: 'samples per network evaluation' },
  out: { type: 'string', required: true, meta: 'file.png', group: 'output', description: 'the PNG to write (replaced atomically)' },
  nrow: { type: 'int', min: 1, max: 16384, defaultText: 'ceil(sqrt(count)); K with --per-class', group: 'output', description: 'images per row of the grid (image models)' },
  scale: { type: 'int', min: 1, max: 64, default: 1, group: 'output', description: 'integer magnification of each pixel (image models)' },
  padding: { type: 'int', min: 0, max: 64, default: 2, group: 'output', description: 'pixels between images (image models)' },
  size: { type: 'int', min: 16, max: 16384, default: 512, group: 'output', description: 'side of the scatter plot in pixels (2-D models)' },
  extent: { type: 'string', meta: 'auto|x0,x1,y0,y1', default: '-3,3,-3,3', group: 'output', description: "the region shown by the scatter plot, or 'auto' (the points' bounding box + 5%) (2-D models)" },
  json: { type: 'flag', group: 'output', description: 'print a JSON summary (what was done and sample statistics) instead of text' },
  ...BACKEND_OPTIONS,
} as const satisfies OptionTable;

type SampleValues = OptionValues<typeof SAMPLE_OPTIONS>;
type Given = ReadonlySet<keyof typeof SAMPLE_OPTIONS & string>;

const IMAGE_ONLY = ['nrow', 'scale', 'padding'] as const;
const POINTS_ONLY = ['size', 'extent'] as const;

/** Class indices from numbers, names (case-insensitive) or 'none' (the null label). */
export function parseLabels(tokens: readonly string[], model: Model): number[] {
  const k = model.config.numClasses;
  const names = model.data.classNames ?? [];
  return tokens.map((t) => {
    if (/^\d+$/.test(t)) {
      const c = Number(t);
      if (c >= k) throw argumentError(`scm sample: --labels: class ${c} is out of range: the model has ${k} classes (0..${k - 1}; 'none' for no class)`);
      return c;
    }
    if (t.toLowerCase() === 'none') return k;
    const c = names.findIndex((n) => n.toLowerCase() === t.toLowerCase());
    if (c < 0) {
      const known = names.length ? `: ${names.map((n, i) => `${i} ${n}`).join(', ')}` : ` (0..${k - 1}; this model has no class names)`;
      throw argumentError(`scm sample: --labels: unknown class '${t}'${known}`);
    }
    return c;
  });
}

function checkCombination(v: SampleValues, given: Given, model: Model): void {
  const conditional = model.config.numClasses > 0;
  const points = model.config.sampleShape.length === 1;
  if (given.has('per-class') && given.has('count')) throw argumentError('scm sample: give --count or --per-class, not both (--per-class K draws K x classes samples)');
  if (given.has('per-class') && given.has('labels')) throw argumentError('scm sample: give --labels or --per-class, not both');
  if (!conditional && (given.has('per-class') || given.has('labels'))) {
    throw argumentError(`scm sample: --${given.has('per-class') ? 'per-class' : 'labels'} needs a class-conditional model; ${v.model} is unconditional`);
  }
  if (given.has('steps') && given.has('times')) throw argumentError('scm sample: give --steps or --times, not both');
  if (model.kind === 'consistency') {
    if (given.has('solver')) throw argumentError("scm sample: --solver is for diffusion models; a consistency model takes --steps (1 or 2) or --times");
    if (v.steps !== undefined && v.steps > 2) {
      throw argumentError(`scm sample: --steps ${v.steps}: a consistency model samples in 1 or 2 steps; for more, give the times (e.g. --times ${maxTime(model.config.sd).toFixed(4)},1.1,0.6)`);
    }
  }
  if (v.times) {
    for (let i = 1; i < v.times.length; i++) {
      if (!(v.times[i] < v.times[i - 1])) throw argumentError(`scm sample: --times must decrease, got ${v.times.join(',')}`);
    }
  }
  const wrong = points ? IMAGE_ONLY.find((n) => given.has(n)) : POINTS_ONLY.find((n) => given.has(n));
  if (wrong) throw argumentError(`scm sample: --${wrong} applies to ${points ? 'image' : '2-D'} models; ${v.model} samples ${points ? `${model.config.sampleShape[0]}-D points` : 'images'}`);
  if (points && model.config.sampleShape[0] !== 2) {
    throw argumentError(`scm sample: ${v.model} samples ${model.config.sampleShape[0]}-D vectors; only images and 2-D points can be drawn as a PNG`);
  }
}

function parseExtent(text: string): PngOptions['extent'] {
  if (text === 'auto') return 'auto';
  const parts = text.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 4 || parts.some((x) => !Number.isFinite(x)) || !(parts[0] < parts[1] && parts[2] < parts[3])) {
    throw argumentError(`scm sample: --extent must be 'auto' or x0,x1,y0,y1 with x0 < x1 and y0 < y1, got '${text}'`);
  }
  return parts as [number, number, number, number];
}

interface Stats {
  mean: number[];
  std: number[];
  min: number[];
  max: number[];
}

/** Per-coordinate statistics for points, overall for images. */
function statistics(s: Samples): Stats {
  const dims = s.shape.length === 2 ? s.shape[1] : 1;
  const n = s.data.length / dims;
  const st: Stats = { mean: [], std: [], min: [], max: [] };
  for (let d = 0; d < dims; d++) {
    let sum = 0, sq = 0, lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = s.data[i * dims + d];
      sum += x;
      sq += x * x;
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    const mean = sum / n;
    st.mean.push(mean);
    st.std.push(Math.sqrt(Math.max(sq / n - mean * mean, 0)));
    st.min.push(lo);
    st.max.push(hi);
  }
  return st;
}

async function run(v: SampleValues, given: Given): Promise<number> {
  applyThreads(v.threads);
  const interrupt = catchInterrupts(() => process.stderr.write('\ninterrupted: stopping (no PNG is written)\n'));
  try {
    const loadStart = performance.now();
    checkModelSource('sample', 'model', v.model);
    const model = await loadModel(v.model, { backend: v.backend });
    const loadSeconds = (performance.now() - loadStart) / 1000;
    try {
      checkCombination(v, given, model);
      const k = model.config.numClasses;
      let count = v.count ?? 64;
      let labels: number[] | undefined;
      if (v['per-class'] !== undefined) {
        count = v['per-class'] * k;
        if (count > 1 << 24) throw argumentError(`scm sample: --per-class ${v['per-class']} x ${k} classes is too many samples`);
        labels = Array.from({ length: count }, (_, i) => Math.floor(i / v['per-class']!));
      } else if (v.labels) {
        const classes = parseLabels(v.labels, model);
        labels = Array.from({ length: count }, (_, i) => classes[i % classes.length]);
      }
      const start = performance.now();
      const samples = await sample(model, {
        count,
        steps: v.steps,
        times: v.times,
        solver: v.solver,
        guidance: v.guidance,
        labels,
        seed: v.seed,
        batchSize: v['batch-size'],
        useEma: !v['no-ema'],
        signal: interrupt.signal,
      });
      const seconds = (performance.now() - start) / 1000;
      const images = samples.shape.length === 4;
      const nrow = images ? (v.nrow ?? v['per-class']) : undefined;
      const png: PngOptions = images ? { scale: v.scale, padding: v.padding, ...(nrow ? { nrow } : {}) } : { size: v.size, extent: parseExtent(v.extent) };
      await savePng(samples, v.out, png);
      const timesUsed = v.times ?? (model.kind === 'consistency' ? ((v.steps ?? 2) === 1 ? [maxTime(model.config.sd)] : [maxTime(model.config.sd), MID_TIME]) : undefined);
      const solver = model.kind === 'diffusion' ? (v.solver ?? 'heun') : undefined;
      const steps = timesUsed ? timesUsed.length : (v.steps ?? 32);
      if (v.json) {
        console.log(JSON.stringify({
          model: v.model, kind: model.kind, network: model.config.kind, parameters: model.parameterCount, data: model.data.name,
          count, shape: samples.shape, steps, ...(timesUsed ? { times: timesUsed } : {}), ...(solver ? { solver } : {}),
          nfe: samples.nfe, seed: v.seed, backend: model.backend, device: describeBackend(model.backend),
          loadSeconds, sampleSeconds: seconds, out: v.out,
          statistics: statistics(samples),
        }, null, 2));
        return 0;
      }
      console.log(`model: ${v.model}: ${describeModel(model)}, loaded in ${formatDuration(loadSeconds)}`);
      const what = images ? `${count} image${count === 1 ? '' : 's'} ${samples.shape.slice(1).join('x')}` : `${count} point${count === 1 ? '' : 's'}`;
      const how = model.kind === 'consistency'
        ? `${steps} step${steps === 1 ? '' : 's'} (t = ${timesUsed!.map((t) => t.toFixed(4)).join(', ')})`
        : `${steps} ${solver} step${steps === 1 ? '' : 's'}${timesUsed ? ` (t = ${timesUsed.map((t) => t.toFixed(4)).join(', ')})` : ''}`;
      const guidance = v.guidance !== undefined ? `, guidance ${v.guidance}` : '';
      console.log(`sampled ${what} in ${how}${guidance}: NFE ${samples.nfe} per sample, ${formatDuration(seconds)} on ${describeBackend(model.backend)} (${Math.round(count / Math.max(seconds, 1e-9))} samples/s)`);
      let layout: string;
      if (images) {
        const columns = Math.min(nrow ?? Math.ceil(Math.sqrt(count)), count);
        layout = `${Math.ceil(count / columns)} row${Math.ceil(count / columns) === 1 ? '' : 's'} of ${columns}`;
        if (v['per-class'] !== undefined) {
          const names = model.data.classNames;
          layout += `, one row per class${names ? ` (${names.map((n, i) => `${i} ${n}`).join(', ')})` : ''}`;
        }
      } else layout = `scatter plot${samples.labels ? ', coloured by class' : ''}`;
      console.log(`wrote ${v.out}: ${layout}`);
      return 0;
    } finally {
      model.dispose();
    }
  } catch (e) {
    if (interrupt.received && e instanceof ScmError && e.code === 'E_ABORTED') {
      process.stderr.write(`interrupted by ${interrupt.received}: nothing written\n`);
      return interrupt.exitCode;
    }
    throw e;
  } finally {
    interrupt.dispose();
  }
}

export const sampleCommand = defineCommand({
  name: 'sample',
  summary: 'draw samples from a model and write a PNG grid (a scatter plot for 2-D models)',
  table: SAMPLE_OPTIONS,
  help: {
    usage: 'scm sample --model <path|name> --out <file.png> [options]',
    summary:
      'Draws samples from a consistency model (1 or 2 network evaluations each) or a diffusion model (a multi-step Heun or Euler solver) and writes them as a PNG: a grid of images, or a scatter plot for 2-D models (points coloured by class). Prints the model, the NFE per sample, the wall time and the backend.',
    examples: [
      'scm sample --model fashion-mnist --per-class 10 --out grid.png',
      'scm sample --model fashion-mnist --labels sneaker,bag --count 16 --steps 1 --out bags.png --scale 4',
      'scm sample --model fashion-mnist-teacher --steps 32 --guidance 2 --out teacher.png',
      'scm sample --model student.safetensors --count 2000 --out points.png --extent auto',
    ],
  },
  run,
});
