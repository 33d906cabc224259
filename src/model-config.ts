// Network configurations: the presets and the resolution of a user's choice (a preset name or a
// partial config) against the data (sample shape, classes) into the full config the native
// engine builds (native/core/model_config.h). Everything is checked here with messages that
// name the option; the engine checks again.
import { argumentError } from './errors.js';
import { checkOptions, describe } from './validate.js';

export type NetworkKind = 'mlp' | 'dit';

/** The full configuration of a network (SCM.md §5 for the stabilisers). */
export interface NetworkConfig {
  kind: NetworkKind;
  /** One sample's shape: [D] for an mlp, [C, H, W] for a dit. */
  sampleShape: number[];
  /** sigma_d, the data standard deviation the model works at (data are scaled to it). */
  sd: number;
  /** 0: unconditional; else labels 0..numClasses-1 (numClasses is the null label for CFG). */
  numClasses: number;
  /** The guidance scale is an input (sCD students of guided teachers). */
  guidanceInput: boolean;
  width: number;
  depth: number;
  /** dit only. */
  heads: number;
  /** dit only. */
  patch: number;
  mlpRatio: number;
  /** Size of the time features. */
  timeDim: number;
  /** dit: learned position embedding, else fixed 2-D sinusoids. */
  learnedPosEmbed: boolean;
  /** Dropout on each MLP's hidden activations during training. */
  dropout: number;
  /** c_noise(t): 'identity' (the paper's) or EDM's 'edm-log' = log(sd tan t) (an ablation). */
  timeTransform: 'identity' | 'edm-log';
  /** 'positional' sinusoids of c_noise (the paper's) or random 'fourier' features (an ablation). */
  timeEmbedding: 'positional' | 'fourier';
  /** Scale of the Fourier frequencies (timeEmbedding 'fourier'). */
  fourierScale: number;
  /** 'adn' (adaptive double normalisation, the paper's) or 'adaln' (LN(x)(1+s)+b, an ablation). */
  modulation: 'adn' | 'adaln';
}

export type PresetName = 'mlp-s' | 'dit-xs' | 'dit-s' | 'dit-b';

const BASE: Omit<NetworkConfig, 'kind' | 'sampleShape' | 'numClasses' | 'width' | 'depth' | 'heads' | 'patch'> = {
  sd: 0.5,
  guidanceInput: false,
  mlpRatio: 4,
  timeDim: 256,
  learnedPosEmbed: true,
  dropout: 0,
  timeTransform: 'identity',
  timeEmbedding: 'positional',
  fourierScale: 16,
  modulation: 'adn',
};

/**
 * The presets. `mlp-s` for low-dimensional data; `dit-xs` trains on a CPU (Fashion-MNIST, 28x28,
 * patch 4); `dit-s` (~30M parameters at patch 2) and `dit-b` (~130M) are for a GPU.
 */
export const PRESETS: Readonly<Record<PresetName, Partial<NetworkConfig>>> = {
  'mlp-s': { kind: 'mlp', width: 256, depth: 4, mlpRatio: 2, timeDim: 128 },
  'dit-xs': { kind: 'dit', width: 128, depth: 6, heads: 4, patch: 4, timeDim: 128 },
  'dit-s': { kind: 'dit', width: 384, depth: 12, heads: 6, patch: 2 },
  'dit-b': { kind: 'dit', width: 768, depth: 12, heads: 12, patch: 2 },
};
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** A user's model choice: a preset name, or a partial config with an optional `preset` base. */
export type ModelChoice = PresetName | (Partial<NetworkConfig> & { preset?: PresetName });

const CONFIG_KEYS: readonly (keyof NetworkConfig | 'preset')[] = [
  'preset', 'kind', 'sampleShape', 'sd', 'numClasses', 'guidanceInput', 'width', 'depth', 'heads', 'patch', 'mlpRatio',
  'timeDim', 'learnedPosEmbed', 'dropout', 'timeTransform', 'timeEmbedding', 'fourierScale', 'modulation',
];

function int(v: unknown, name: string, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw argumentError(`${where}: ${name} must be an integer in [${min}, ${max}], got ${describe(v)}`);
  }
  return v;
}

function oneOf<T extends string>(v: unknown, choices: readonly T[], name: string, where: string): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw argumentError(`${where}: ${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

/** Checks a complete config (from a user, a preset or a checkpoint). */
export function checkNetworkConfig(c: unknown, where: string): NetworkConfig {
  const o = checkOptions(c, CONFIG_KEYS.filter((k) => k !== 'preset'), where);
  const kind = oneOf(o.kind, ['mlp', 'dit'] as const, 'kind', where);
  if (!Array.isArray(o.sampleShape) || o.sampleShape.length !== (kind === 'mlp' ? 1 : 3)) {
    throw argumentError(`${where}: sampleShape must be ${kind === 'mlp' ? '[D]' : '[C, H, W]'} for ${kind === 'mlp' ? 'an mlp' : 'a dit'}, got ${JSON.stringify(o.sampleShape) ?? describe(o.sampleShape)}`);
  }
  const sampleShape = o.sampleShape.map((d, i) => int(d, `sampleShape[${i}]`, where, 1, 1 << 20));
  const cfg: NetworkConfig = {
    kind,
    sampleShape,
    sd: typeof o.sd === 'number' && Number.isFinite(o.sd) && o.sd > 0 ? o.sd : (() => { throw argumentError(`${where}: sd must be a positive number, got ${describe(o.sd)}`); })(),
    numClasses: int(o.numClasses, 'numClasses', where, 0, 1 << 20),
    guidanceInput: typeof o.guidanceInput === 'boolean' ? o.guidanceInput : (() => { throw argumentError(`${where}: guidanceInput must be a boolean`); })(),
    width: int(o.width, 'width', where, 1, 1 << 16),
    depth: int(o.depth, 'depth', where, 1, 256),
    heads: int(o.heads, 'heads', where, 1, 256),
    patch: int(o.patch, 'patch', where, 1, 64),
    mlpRatio: int(o.mlpRatio, 'mlpRatio', where, 1, 64),
    timeDim: int(o.timeDim, 'timeDim', where, 2, 1 << 14),
    learnedPosEmbed: typeof o.learnedPosEmbed === 'boolean' ? o.learnedPosEmbed : (() => { throw argumentError(`${where}: learnedPosEmbed must be a boolean`); })(),
    dropout: typeof o.dropout === 'number' && o.dropout >= 0 && o.dropout < 1 ? o.dropout : (() => { throw argumentError(`${where}: dropout must be in [0, 1), got ${describe(o.dropout)}`); })(),
    timeTransform: oneOf(o.timeTransform, ['identity', 'edm-log'] as const, 'timeTransform', where),
    timeEmbedding: oneOf(o.timeEmbedding, ['positional', 'fourier'] as const, 'timeEmbedding', where),
    fourierScale: typeof o.fourierScale === 'number' && Number.isFinite(o.fourierScale) && o.fourierScale > 0 ? o.fourierScale : (() => { throw argumentError(`${where}: fourierScale must be a positive number`); })(),
    modulation: oneOf(o.modulation, ['adn', 'adaln'] as const, 'modulation', where),
  };
  if (cfg.timeDim % 2 !== 0) throw argumentError(`${where}: timeDim ${cfg.timeDim} must be even`);
  if (kind === 'dit') {
    const [, H, W] = sampleShape;
    if (H % cfg.patch !== 0 || W % cfg.patch !== 0) throw argumentError(`${where}: image ${H}x${W} is not a multiple of patch ${cfg.patch}`);
    if (cfg.width % cfg.heads !== 0) throw argumentError(`${where}: width ${cfg.width} is not a multiple of heads ${cfg.heads}`);
    if ((cfg.width / cfg.heads) % 2 !== 0) throw argumentError(`${where}: head dim ${cfg.width / cfg.heads} must be even`);
  }
  return cfg;
}

/**
 * The full config for `choice` on data with samples of `sampleShape` and `numClasses` classes.
 * The preset default is 'mlp-s' for vectors and 'dit-xs' for images.
 */
export function resolveNetworkConfig(choice: ModelChoice | undefined, data: { sampleShape: number[]; numClasses: number }, where: string): NetworkConfig {
  let preset: PresetName = data.sampleShape.length === 1 ? 'mlp-s' : 'dit-xs';
  let overrides: Partial<NetworkConfig> = {};
  if (typeof choice === 'string') {
    preset = oneOf(choice, PRESET_NAMES, 'model', where);
  } else if (choice !== undefined) {
    const o = checkOptions(choice, CONFIG_KEYS, `${where}: model`);
    if (o.preset !== undefined) preset = oneOf(o.preset, PRESET_NAMES, 'model.preset', where);
    const { preset: _ignored, ...rest } = o as Partial<NetworkConfig> & { preset?: string };
    overrides = rest;
  }
  const base = PRESETS[preset];
  const kind = overrides.kind ?? base.kind ?? 'mlp';
  const wantsKind = data.sampleShape.length === 1 ? 'mlp' : 'dit';
  if (kind !== wantsKind) {
    throw argumentError(`${where}: a ${kind} cannot take samples of shape [${data.sampleShape.join(', ')}] (use ${wantsKind === 'mlp' ? "'mlp-s'" : "a 'dit' preset"})`);
  }
  if (overrides.sampleShape !== undefined && JSON.stringify(overrides.sampleShape) !== JSON.stringify(data.sampleShape)) {
    throw argumentError(`${where}: model.sampleShape [${overrides.sampleShape.join(', ')}] differs from the data's [${data.sampleShape.join(', ')}]`);
  }
  if (overrides.numClasses !== undefined && overrides.numClasses !== data.numClasses) {
    throw argumentError(`${where}: model.numClasses ${overrides.numClasses} differs from the data's ${data.numClasses}`);
  }
  return checkNetworkConfig(
    { ...BASE, heads: 1, patch: 1, ...base, ...overrides, kind, sampleShape: [...data.sampleShape], numClasses: data.numClasses },
    where,
  );
}

/** Parameter count of a config (matches the engine's layout; checked in tests). */
export function parameterCount(c: NetworkConfig): number {
  const w = c.width, E = c.timeDim, hid = c.mlpRatio * w;
  let n = w * E + w + w * w + w + E + 1;  // time MLP + logvar head
  if (c.numClasses > 0) n += (c.numClasses + 1) * w;
  if (c.guidanceInput) n += w * E + w;
  if (c.kind === 'mlp') {
    const D = c.sampleShape[0];
    n += w * D + w + c.depth * (2 * w * w + 2 * w + hid * w + hid + w * hid + w) + 2 * w * w + 2 * w + D * w + D;
    return n;
  }
  const [C, H, W] = c.sampleShape, P = C * c.patch * c.patch, T = (H / c.patch) * (W / c.patch), hd = w / c.heads;
  n += w * P + w + (c.learnedPosEmbed ? T * w : 0);
  n += c.depth * (4 * w * w + 4 * w + 3 * w * w + 3 * w + 2 * hd + w * w + w + hid * w + hid + w * hid + w);
  n += 2 * w * w + 2 * w + P * w + P;
  return n;
}
