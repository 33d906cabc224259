// Which backend computes: backendInfo() tells, setBackend() chooses.
import { native, type BackendName, type NativeDevice } from './native.js';
import { checkBackend } from './validate.js';

export type { BackendName } from './native.js';

export interface BackendInfo {
  /** The backend calls use when they do not name one. */
  active: 'cuda' | 'cpu';
  /** Backends usable on this machine (always includes 'cpu'). */
  available: ('cuda' | 'cpu')[];
  /** Why CUDA is not active, in plain words (not built, no driver, no device, disabled). */
  reason?: string;
  /** The active backend's device. */
  device?: { name: string; memoryBytes: number; computeCapability: string };
  /** The CUDA device, when CUDA is usable (even if the CPU was selected). */
  cudaDevice?: NativeDevice;
  /** Worker threads of the CPU backend (SCM_NUM_THREADS, else the core count; setCpuThreads). */
  cpuThreads: number;
  /**
   * The CPU backend's GEMM: 'onednn 2.6.3', 'openblas 0.3.21' (name and version of the library
   * found at build time) or 'builtin' (the engine's own kernel). It runs on the cpuThreads
   * worker threads, never on threads of its own.
   */
  cpuGemm: string;
  /**
   * How CPU GEMMs with precision 'bf16' compute: 'native' (bf16 products, e.g. AMX or
   * AVX512-BF16 through oneDNN) or 'fp32' (the bf16-rounded operands widened to fp32: the same
   * values, at fp32 speed).
   */
  cpuGemmBf16: 'native' | 'fp32';
}

export function backendInfo(): BackendInfo {
  const info = native().backendInfo();
  const out: BackendInfo = {
    active: info.active, available: info.available, cpuThreads: info.cpuThreads, cpuGemm: info.cpuGemm, cpuGemmBf16: info.cpuGemmBf16,
  };
  if (info.reason !== undefined) out.reason = info.reason;
  out.device = { name: info.device.name, memoryBytes: info.device.memoryBytes, computeCapability: info.device.computeCapability };
  if (info.cudaDevice) out.cudaDevice = info.cudaDevice;
  return out;
}

/**
 * Chooses the backend for calls that do not pass `backend`: 'auto' (CUDA when usable, else
 * CPU), 'cpu', or 'cuda' (throws E_BACKEND_UNAVAILABLE with the reason when CUDA cannot be used).
 */
export function setBackend(name: BackendName): void {
  native().setBackend(checkBackend(name, 'setBackend'));
}

/** Sets the number of CPU worker threads (>= 1): the engine's kernels and the CPU GEMM library both use them. */
export function setCpuThreads(threads: number): void {
  native().setCpuThreads(threads);
}
