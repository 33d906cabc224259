import { describe, expect, test } from 'vitest';
import { backendInfo, setBackend } from '../src/index.js';
import { cudaUsable, expectScmError } from './helpers.js';

describe('backendInfo / setBackend', () => {
  test('reports the active backend, and the reason when CUDA is not active', () => {
    const info = backendInfo();
    expect(info.available).toContain('cpu');
    expect(['cpu', 'cuda']).toContain(info.active);
    if (info.active === 'cpu') {
      expect(typeof info.reason).toBe('string');
      expect(info.reason!.length).toBeGreaterThan(10);
    }
    expect(info.device?.memoryBytes).toBeGreaterThan(0);
    expect(info.cpuThreads).toBeGreaterThanOrEqual(1);
  });

  test('without a usable GPU the reason names the cause', () => {
    if (cudaUsable()) return;
    expect(backendInfo().reason).toMatch(/driver|device|built without CUDA|built with node-gyp|no CUDA|cuBLAS|SCM_BACKEND|disabled/i);
  });

  test("setBackend('cpu') makes the CPU active and says CUDA is not in use", () => {
    setBackend('cpu');
    try {
      const info = backendInfo();
      expect(info.active).toBe('cpu');
      expect(info.reason).toBeTruthy();
    } finally {
      setBackend('auto');
    }
  });

  test("setBackend('cuda') without a GPU throws E_BACKEND_UNAVAILABLE with the reason", async () => {
    if (cudaUsable()) {
      setBackend('cuda');
      expect(backendInfo().active).toBe('cuda');
      setBackend('auto');
      return;
    }
    await expectScmError(() => setBackend('cuda'), 'E_BACKEND_UNAVAILABLE', /CUDA/);
    expect(backendInfo().available).toEqual(['cpu']);
  });

  test('unknown backend names are refused with E_ARGUMENT', async () => {
    await expectScmError(() => setBackend('gpu' as never), 'E_ARGUMENT', /unknown backend "gpu"/);
    await expectScmError(() => setBackend(3 as never), 'E_ARGUMENT', /unknown backend 3/);
  });
});
