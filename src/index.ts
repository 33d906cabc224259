// scm-native: continuous-time consistency models (sCM) with a native C++/CUDA engine.
export { ScmError, type ScmErrorCode } from './errors.js';
export { backendInfo, setBackend, setCpuThreads, type BackendInfo, type BackendName } from './backend.js';
export { ops, type CallOptions, type GemmOptions, type RandomOptions } from './ops.js';
export type { AttentionShape, AttentionResult, AttentionJvpResult, AttentionGradients } from './attention.js';
export type { TangentNormalizeOptions } from './tangent.js';
export { readSafetensors, writeSafetensors, type Dtype as SafetensorsDtype, type Tensor as SafetensorsTensor, type TensorEntry, type TensorSet, type Safetensors, type ReadOptions as SafetensorsReadOptions } from './checkpoint.js';
export { loadFashionMnist, sampleToy, type Dataset, type DatasetInput, type FashionMnistOptions, type ToyName, type ToySamples } from './data/index.js';
export { energyDistance, slicedWasserstein, featureStatistics, frechetDistance, type EnergyDistanceOptions, type SlicedWassersteinOptions, type FeatureStatistics } from './metrics.js';
export { fd, classAccuracy, qualityReport, type QualityReport, type ImageBatch } from './quality.js';
export { classifierFeatures, classify } from './classifier/features.js';
export { savePng, type PngOptions } from './image.js';
export { plotPng, type PlotOptions, type Series as PlotSeries } from './plot.js';
export { Model, loadModel, BUNDLED_MODELS, type ModelKind, type DataInfo } from './model.js';
export { PRESETS, PRESET_NAMES, type NetworkConfig, type PresetName, type ModelChoice } from './model-config.js';
export { trainDiffusion, trainConsistency, type TrainDiffusionOptions, type TrainConsistencyOptions, type TrainProgress, type CheckpointOptions, type SampleGridOptions } from './train.js';
export { sample, maxTime, MID_TIME, type Samples, type SampleOptions } from './sample.js';
