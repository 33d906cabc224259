#!/usr/bin/env node
// Trains the project's Fashion-MNIST classifier and writes it, with the feature statistics of the
// 10 000 test images and the test accuracy, to one safetensors file (the shipped
// models/classifier.safetensors is made by the command in models/README.md):
//
//   npm run build:ts && node dist/scripts/train-classifier.js --out models/classifier.safetensors --seed 1
//
// options: --out FILE (required) --seed N (1) --epochs N (8) --batch N (128) --lr X (2e-3)
//          --shift N (2) --no-flip --limit N (first N training images) --data DIR (idx folder)
//          --dtype F32|BF16 (F32): how the weights are stored; accuracy and statistics are
//          measured with the stored (rounded) weights.
import os from 'node:os';
import { runScript } from './run-script.js';
import { backendInfo, loadFashionMnist, ScmError } from '../src/index.js';
import { Classifier, loadClassifier, saveClassifier } from '../src/classifier/features.js';
import { argmaxRows, PARAM_NAMES, paramCount } from '../src/classifier/model.js';
import { trainClassifier } from '../src/classifier/train.js';
import { decodeHalf, encodeHalf } from '../src/float16.js';
import { classAccuracy, featureStatistics } from '../src/metrics.js';

interface Args {
  out: string;
  seed: number;
  epochs: number;
  batch: number;
  lr: number;
  shift: number;
  flip: boolean;
  limit?: number;
  data?: string;
  dtype: 'F32' | 'BF16';
}

function parseArgs(argv: string[]): Args {
  const args: Partial<Args> = { seed: 1, epochs: 8, batch: 128, lr: 2e-3, shift: 2, flip: true, dtype: 'F32' };
  const int = (flag: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (v === undefined || !Number.isSafeInteger(n) || n < min) throw new ScmError(`train-classifier: ${flag} needs an integer >= ${min}, got ${v ?? 'nothing'}`, 'E_ARGUMENT');
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i], value = argv[i + 1];
    switch (flag) {
      case '--out': if (!value) throw new ScmError('train-classifier: --out needs a file', 'E_ARGUMENT'); args.out = value; i++; break;
      case '--seed': args.seed = int(flag, value, 0); i++; break;
      case '--epochs': args.epochs = int(flag, value, 1); i++; break;
      case '--batch': args.batch = int(flag, value, 1); i++; break;
      case '--shift': args.shift = int(flag, value, 0); i++; break;
      case '--limit': args.limit = int(flag, value, 1); i++; break;
      case '--lr': {
        const lr = Number(value);
        if (!(lr > 0 && Number.isFinite(lr))) throw new ScmError(`train-classifier: --lr needs a positive number, got ${value ?? 'nothing'}`, 'E_ARGUMENT');
        args.lr = lr; i++; break;
      }
      case '--data': if (!value) throw new ScmError('train-classifier: --data needs a folder', 'E_ARGUMENT'); args.data = value; i++; break;
      case '--dtype':
        if (value !== 'F32' && value !== 'BF16') throw new ScmError(`train-classifier: --dtype must be F32 or BF16, got ${value ?? 'nothing'}`, 'E_ARGUMENT');
        args.dtype = value; i++; break;
      case '--no-flip': args.flip = false; break;
      default: throw new ScmError(`train-classifier: unknown argument '${flag}' (see the header of scripts/train-classifier.ts)`, 'E_ARGUMENT');
    }
  }
  if (!args.out) throw new ScmError('train-classifier: --out FILE is required', 'E_ARGUMENT');
  return args as Args;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  const started = performance.now();
  const dir = args.data === undefined ? {} : { dir: args.data };
  const train = await loadFashionMnist({ split: 'train', ...dir, ...(args.limit ? { limit: args.limit } : {}) });
  const test = await loadFashionMnist({ split: 'test', ...dir });
  const info = backendInfo();
  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${info.cpuThreads} CPU threads, gemm ${info.cpuGemm ?? 'builtin'}, Node ${process.version}`;
  console.log(`training on ${train.shape[0]} images, testing on ${test.shape[0]}; ${machine}`);
  const trainStart = performance.now();
  const trained = await trainClassifier(train.data, train.labels!, {
    seed: args.seed, epochs: args.epochs, batchSize: args.batch, lr: args.lr, shift: args.shift, flip: args.flip,
    onEpoch: (e) => console.log(`epoch ${e.epoch}/${args.epochs}: loss ${e.loss.toFixed(4)}, train accuracy ${(100 * e.accuracy).toFixed(2)}% (augmented), ${e.seconds.toFixed(1)} s`),
  });
  const trainSeconds = (performance.now() - trainStart) / 1000;
  if (args.dtype === 'BF16') for (const name of PARAM_NAMES) trained.params[name] = decodeHalf(encodeHalf(trained.params[name], 'BF16'), 'BF16');

  // the reference statistics and the accuracy, with the weights as stored
  const classifier = new Classifier(trained.config, trained.params);
  const evaluated = await classifier.evaluate({ data: test.data, shape: test.shape });
  const predicted = argmaxRows(evaluated.logits!, trained.config.classes);
  const accuracy = classAccuracy(predicted, test.labels!);
  const reference = featureStatistics(evaluated.features, evaluated.count, trained.config.hidden);
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage();
  const metadata: Record<string, string> = {
    command: ['node', 'dist/scripts/train-classifier.js', ...argv].join(' '),
    seed: String(args.seed),
    epochs: String(args.epochs),
    train_count: String(train.shape[0]),
    test_accuracy: accuracy.toFixed(4),
    reference_split: 'test',
    wall_seconds: wallSeconds.toFixed(1),
    train_seconds: trainSeconds.toFixed(1),
    cpu_seconds: ((cpu.user + cpu.system) / 1e6).toFixed(1),
    date: new Date().toISOString(),
    machine,
    weights_dtype: args.dtype,
    hyper: JSON.stringify(trained.hyper),
    history: JSON.stringify(trained.history.map((e) => ({ ...e, loss: +e.loss.toFixed(5), accuracy: +e.accuracy.toFixed(5), seconds: +e.seconds.toFixed(1) }))),
  };
  await saveClassifier(args.out, trained, reference, metadata, args.dtype);

  // read back: the stored file must give the same predictions
  const loaded = await loadClassifier(args.out);
  const again = classAccuracy(await loaded.classify({ data: test.data, shape: test.shape }), test.labels!);
  if (again !== accuracy) throw new ScmError(`train-classifier: ${args.out} read back gives test accuracy ${again}, expected ${accuracy}`, 'E_INTERNAL');
  console.log(`test accuracy ${(100 * accuracy).toFixed(2)}% (${test.shape[0]} images); ${paramCount(trained.config)} parameters (${args.dtype}); ` +
    `training ${trainSeconds.toFixed(1)} s, wall ${wallSeconds.toFixed(1)} s, CPU ${metadata.cpu_seconds} s; wrote ${args.out}`);
}

runScript(main);
