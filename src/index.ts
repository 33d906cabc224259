// scm-native: continuous-time consistency models (sCM) with a native C++/CUDA engine.
export { ScmError, type ScmErrorCode } from './errors.js';
export { backendInfo, setBackend, setCpuThreads, type BackendInfo, type BackendName } from './backend.js';
export { ops, type CallOptions, type GemmOptions, type RandomOptions } from './ops.js';
export type { AttentionShape, AttentionResult, AttentionJvpResult, AttentionGradients } from './attention.js';
export type { TangentNormalizeOptions } from './tangent.js';
export { readSafetensors, writeSafetensors, type Dtype as SafetensorsDtype, type Tensor as SafetensorsTensor, type TensorEntry, type TensorSet, type Safetensors, type ReadOptions as SafetensorsReadOptions } from './checkpoint.js';
export { loadFashionMnist, sampleToy, type Dataset, type DatasetInput, type FashionMnistOptions, type ToyName, type ToySamples } from './data/index.js';
export { energyDistance, slicedWasserstein, featureStatistics, frechetDistance, type EnergyDistanceOptions, type SlicedWassersteinOptions, type FeatureStatistics } from './metrics.js';
export { savePng, type PngOptions } from './image.js';
export { plotPng, type PlotOptions, type Series as PlotSeries } from './plot.js';
