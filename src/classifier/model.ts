// The project's own Fashion-MNIST classifier: a small conv net, forward and backward passes.
//
//   x [B, 1, s, s] in [-1, 1]
//   conv 3x3 (1 -> c1, padding 1, border value -1 = the background) -> max pool 2 -> + bias -> ReLU
//   conv 3x3 (c1 -> c2, padding 1, border value 0)                  -> max pool 2 -> + bias -> ReLU
//   flatten [B, (s/4)^2 c2] -> linear -> ReLU = the features [B, hidden] -> linear = logits [B, classes]
//
// Pooling the pre-activation and adding the bias after it is the same function as
// pool(relu(conv + bias)) (max commutes with adding a per-channel constant and with ReLU), and
// cheaper. Activations are kept channels-last (NHWC) so that each convolution is one matrix
// product of its im2col rows [B s s, 9 C_in] with the weights [9 C_in, C_out] (rows ordered
// (ky, kx, c_in): the safetensors shape [3, 3, C_in, C_out]). Every matrix product goes through
// an Engine: ops.gemm on the CPU backend in float32 (cpuEngine), or double precision for the
// gradient checks. Everything else is plain TypeScript on the arrays.
import { ops } from '../ops.js';

export type Arr = Float32Array | Float64Array;

export interface ClassifierConfig {
  /** Image side (a multiple of 4). */
  size: number;
  /** Channels of the two convolutions. */
  c1: number;
  c2: number;
  /** Width of the feature layer. */
  hidden: number;
  classes: number;
}

/** The shipped classifier's shape. */
export const DEFAULT_CONFIG: Readonly<ClassifierConfig> = { size: 28, c1: 16, c2: 32, hidden: 128, classes: 10 };

/** Parameter names, in file order, with their shapes. */
export const PARAM_NAMES = ['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];
export type Params<A extends Arr = Float32Array> = Record<ParamName, A>;

export function paramShapes(c: ClassifierConfig): Record<ParamName, number[]> {
  const flat = (c.size / 4) * (c.size / 4) * c.c2;
  return {
    'conv1.weight': [3, 3, 1, c.c1],
    'conv1.bias': [c.c1],
    'conv2.weight': [3, 3, c.c1, c.c2],
    'conv2.bias': [c.c2],
    'fc1.weight': [flat, c.hidden],
    'fc1.bias': [c.hidden],
    'fc2.weight': [c.hidden, c.classes],
    'fc2.bias': [c.classes],
  };
}

export interface MatmulShape {
  m: number;
  n: number;
  k: number;
  /** a is stored k x m. */
  transA?: boolean;
  /** b is stored n x k. */
  transB?: boolean;
}

/** Where the matrix products run and what the arrays are. */
export interface Engine<A extends Arr> {
  zeros(n: number): A;
  /** op(a) (m x k) times op(b) (k x n), row-major, a new m x n array. */
  matmul(a: A, b: A, shape: MatmulShape): Promise<A>;
}

/** float32, products through ops.gemm on the CPU backend. */
export const cpuEngine: Engine<Float32Array> = {
  zeros: (n) => new Float32Array(n),
  matmul: (a, b, s) => ops.gemm(a, b, { m: s.m, n: s.n, k: s.k, transA: s.transA === true, transB: s.transB === true, backend: 'cpu' }),
};

/** Element counts of the parameters. */
export function paramCount(c: ClassifierConfig): number {
  return Object.values(paramShapes(c)).reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * im2col of a 3x3, padding-1, stride-1 convolution on NHWC `src` [B, s, s, C]: out row
 * (b, y, x) holds src[b, y + ky - 1, x + kx - 1, c] at column (ky * 3 + kx) * C + c, `pad` outside.
 */
export function im2col<A extends Arr>(src: A, batch: number, s: number, channels: number, pad: number, out: A): A {
  transfer(src, out, batch, s, channels, pad, false);
  return out;
}

/** The adjoint of im2col (padding dropped): sums the column gradients back onto [B, s, s, C]. */
export function col2im<A extends Arr>(cols: A, batch: number, s: number, channels: number, out: A): A {
  out.fill(0);
  transfer(out, cols, batch, s, channels, 0, true);
  return out;
}

/** im2col (cols[.] = img[.], `pad` outside the image) or, `adjoint`, its transpose (img[.] += cols[.]). */
function transfer<A extends Arr>(img: A, cols: A, batch: number, s: number, channels: number, pad: number, adjoint: boolean): void {
  const row = 9 * channels, span = 3 * channels;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        let o = ((b * s + y) * s + x) * row;
        for (let ky = 0; ky < 3; ky++, o += span) {
          const yy = y + ky - 1;
          if (yy < 0 || yy >= s) {
            if (!adjoint) for (let j = 0; j < span; j++) cols[o + j] = pad;
          } else if (x > 0 && x < s - 1) {
            // the three taps (x - 1, x, x + 1) are contiguous in NHWC
            const i = ((b * s + yy) * s + x - 1) * channels;
            if (adjoint) for (let j = 0; j < span; j++) img[i + j] += cols[o + j];
            else for (let j = 0; j < span; j++) cols[o + j] = img[i + j];
          } else {
            for (let kx = 0; kx < 3; kx++) {
              const xx = x + kx - 1, ok = o + kx * channels, i = ((b * s + yy) * s + xx) * channels;
              if (xx < 0 || xx >= s) {
                if (!adjoint) for (let c = 0; c < channels; c++) cols[ok + c] = pad;
              } else if (adjoint) for (let c = 0; c < channels; c++) img[i + c] += cols[ok + c];
              else for (let c = 0; c < channels; c++) cols[ok + c] = img[i + c];
            }
          }
        }
      }
    }
  }
}

/**
 * 2x2 max pool of NHWC [B, s, s, C] then + bias, ReLU: returns the activation [B, s/2, s/2, C]
 * and, per output, the flat input index of its maximum (the first one on ties).
 */
function poolBiasRelu<A extends Arr>(z: A, batch: number, s: number, channels: number, bias: A, e: Engine<A>): { act: A; argmax: Int32Array } {
  const h = s / 2;
  const act = e.zeros(batch * h * h * channels), argmax = new Int32Array(act.length);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < h; x++) {
        const o = ((b * h + y) * h + x) * channels;
        const i00 = ((b * s + 2 * y) * s + 2 * x) * channels, i01 = i00 + channels, i10 = i00 + s * channels, i11 = i10 + channels;
        for (let c = 0; c < channels; c++) {
          let best = i00 + c, v = z[best];
          if (z[i01 + c] > v) v = z[(best = i01 + c)];
          if (z[i10 + c] > v) v = z[(best = i10 + c)];
          if (z[i11 + c] > v) v = z[(best = i11 + c)];
          const a = v + bias[c];
          act[o + c] = a > 0 ? a : 0;
          argmax[o + c] = best;
        }
      }
    }
  }
  return { act, argmax };
}

/** out = relu(z + bias) per row of width n, in place in z. */
function biasRelu<A extends Arr>(z: A, n: number, bias: A): A {
  for (let i = 0; i < z.length; i += n) {
    for (let j = 0; j < n; j++) {
      const a = z[i + j] + bias[j];
      z[i + j] = a > 0 ? a : 0;
    }
  }
  return z;
}

function addBias<A extends Arr>(z: A, n: number, bias: A): A {
  for (let i = 0; i < z.length; i += n) for (let j = 0; j < n; j++) z[i + j] += bias[j];
  return z;
}

/** What the backward pass needs of a forward pass. */
export interface ForwardCache<A extends Arr> {
  batch: number;
  cols1: A;
  argmax1: Int32Array;
  /** [B, s/2, s/2, c1] after bias and ReLU. */
  act1: A;
  cols2: A;
  argmax2: Int32Array;
  /** [B, (s/4)^2 c2] after bias and ReLU (flattened NHWC). */
  act2: A;
  /** [B, hidden]: the feature layer (after ReLU). */
  features: A;
  /** [B, classes] */
  logits: A;
}

/**
 * The forward pass of `batch` images x [B, s * s] (one channel, row-major). `upTo: 'features'`
 * stops after the feature layer (logits then empty).
 */
export async function forward<A extends Arr>(e: Engine<A>, c: ClassifierConfig, p: Params<A>, x: A, batch: number, upTo: 'logits' | 'features' = 'logits'): Promise<ForwardCache<A>> {
  const s = c.size, h = s / 2, q = s / 4;
  const cols1 = im2col(x, batch, s, 1, -1, e.zeros(batch * s * s * 9));
  const z1 = await e.matmul(cols1, p['conv1.weight'], { m: batch * s * s, n: c.c1, k: 9 });
  const l1 = poolBiasRelu(z1, batch, s, c.c1, p['conv1.bias'], e);
  const cols2 = im2col(l1.act, batch, h, c.c1, 0, e.zeros(batch * h * h * 9 * c.c1));
  const z2 = await e.matmul(cols2, p['conv2.weight'], { m: batch * h * h, n: c.c2, k: 9 * c.c1 });
  const l2 = poolBiasRelu(z2, batch, h, c.c2, p['conv2.bias'], e);
  const flat = q * q * c.c2;
  const features = biasRelu(await e.matmul(l2.act, p['fc1.weight'], { m: batch, n: c.hidden, k: flat }), c.hidden, p['fc1.bias']);
  const logits = upTo === 'features' ? e.zeros(0) : addBias(await e.matmul(features, p['fc2.weight'], { m: batch, n: c.classes, k: c.hidden }), c.classes, p['fc2.bias']);
  return { batch, cols1, argmax1: l1.argmax, act1: l1.act, cols2, argmax2: l2.argmax, act2: l2.act, features, logits };
}

/** Column sums of a [rows, n] matrix. */
function columnSums<A extends Arr>(g: A, n: number, e: Engine<A>): A {
  const out = e.zeros(n);
  for (let i = 0; i < g.length; i += n) for (let j = 0; j < n; j++) out[j] += g[i + j];
  return out;
}

/** g *= (act > 0), in place: the ReLU's derivative, read from its output. */
function reluMask<A extends Arr>(g: A, act: A): A {
  for (let i = 0; i < g.length; i++) if (!(act[i] > 0)) g[i] = 0;
  return g;
}

/** dL/dz of a pool stage from dL/d(act), already masked by the ReLU: scattered to the argmax inputs. */
function unpool<A extends Arr>(dAct: A, argmax: Int32Array, size: number, e: Engine<A>): A {
  const dz = e.zeros(size);
  for (let i = 0; i < dAct.length; i++) dz[argmax[i]] += dAct[i];
  return dz;
}

/**
 * Gradients of the loss for dL/dlogits `dLogits` [B, classes] (the loss's gradient with respect
 * to the logits of the forward pass `f`). The input gradient is not formed.
 */
export async function backward<A extends Arr>(e: Engine<A>, c: ClassifierConfig, p: Params<A>, f: ForwardCache<A>, dLogits: A): Promise<Params<A>> {
  const s = c.size, h = s / 2, q = s / 4, B = f.batch, flat = q * q * c.c2;
  const g = {} as Params<A>;
  g['fc2.weight'] = await e.matmul(f.features, dLogits, { m: c.hidden, n: c.classes, k: B, transA: true });
  g['fc2.bias'] = columnSums(dLogits, c.classes, e);
  const dFeatures = reluMask(await e.matmul(dLogits, p['fc2.weight'], { m: B, n: c.hidden, k: c.classes, transB: true }), f.features);
  g['fc1.weight'] = await e.matmul(f.act2, dFeatures, { m: flat, n: c.hidden, k: B, transA: true });
  g['fc1.bias'] = columnSums(dFeatures, c.hidden, e);
  const dAct2 = reluMask(await e.matmul(dFeatures, p['fc1.weight'], { m: B, n: flat, k: c.hidden, transB: true }), f.act2);
  g['conv2.bias'] = columnSums(dAct2, c.c2, e);
  const dz2 = unpool(dAct2, f.argmax2, B * h * h * c.c2, e);
  g['conv2.weight'] = await e.matmul(f.cols2, dz2, { m: 9 * c.c1, n: c.c2, k: B * h * h, transA: true });
  const dCols2 = await e.matmul(dz2, p['conv2.weight'], { m: B * h * h, n: 9 * c.c1, k: c.c2, transB: true });
  const dAct1 = reluMask(col2im(dCols2, B, h, c.c1, e.zeros(B * h * h * c.c1)), f.act1);
  g['conv1.bias'] = columnSums(dAct1, c.c1, e);
  const dz1 = unpool(dAct1, f.argmax1, B * s * s * c.c1, e);
  g['conv1.weight'] = await e.matmul(f.cols1, dz1, { m: 9, n: c.c1, k: B * s * s, transA: true });
  return g;
}

/**
 * Mean softmax cross-entropy of logits [B, classes] against labels, and its gradient with
 * respect to the logits (softmax - one-hot) / B. Log-sum-exp in double precision.
 */
export function softmaxCrossEntropy<A extends Arr>(logits: A, labels: ArrayLike<number>, classes: number, e: Engine<A>): { loss: number; dLogits: A; correct: number } {
  const batch = labels.length;
  const d = e.zeros(logits.length);
  let loss = 0, correct = 0;
  for (let b = 0; b < batch; b++) {
    const o = b * classes;
    let max = -Infinity, arg = 0;
    for (let j = 0; j < classes; j++) if (logits[o + j] > max) max = logits[(arg = j) + o];
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(logits[o + j] - max);
    const lse = max + Math.log(sum);
    loss += lse - logits[o + labels[b]];
    if (arg === labels[b]) correct++;
    for (let j = 0; j < classes; j++) d[o + j] = (Math.exp(logits[o + j] - lse) - (j === labels[b] ? 1 : 0)) / batch;
  }
  return { loss: loss / batch, dLogits: d, correct };
}

/** Index of the largest logit per row (the first on ties). */
export function argmaxRows(logits: Arr, classes: number): Int32Array {
  const out = new Int32Array(logits.length / classes);
  for (let b = 0; b < out.length; b++) {
    let best = 0;
    for (let j = 1; j < classes; j++) if (logits[b * classes + j] > logits[b * classes + best]) best = j;
    out[b] = best;
  }
  return out;
}
