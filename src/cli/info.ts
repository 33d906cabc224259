// scm info: which backend computes, the CPU GEMM library, and why CUDA is not in use.
import { backendInfo } from '../backend.js';
import { defineCommand } from './command.js';
import type { OptionTable } from './options.js';

export const INFO_OPTIONS = {} as const satisfies OptionTable;

export const info = defineCommand({
  name: 'info',
  summary: 'which backend computes, the CPU GEMM library, and why CUDA is not in use when it is not',
  table: INFO_OPTIONS,
  help: {
    usage: 'scm info',
    summary: "Prints backendInfo() as JSON (active backend, available backends, device, CPU threads, CPU GEMM library), then the CPU GEMM library and, when the CPU computes, the reason CUDA is not in use.",
  },
  async run() {
    const i = backendInfo();
    console.log(JSON.stringify(i, null, 2));
    if (i.cpuGemm) console.log(`CPU GEMM: ${i.cpuGemm} (bf16: ${i.cpuGemmBf16 === 'native' ? 'native bf16 products' : 'bf16-rounded operands computed in fp32'})`);
    if (i.active === 'cpu') console.log(`CUDA not in use: ${i.reason}`);
    return 0;
  },
});
