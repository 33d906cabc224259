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
  /** Worker threads of the CPU backend (SCM_NUM_THREADS, else the core count). */
  cpuThreads: number;
}

export function backendInfo(): BackendInfo {
  const info = native().backendInfo();
  const out: BackendInfo = { active: info.active, available: info.available, cpuThreads: info.cpuThreads };
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

/** Sets the number of CPU worker threads (>= 1). */
export function setCpuThreads(threads: number): void {
  native().setCpuThreads(threads);
}
