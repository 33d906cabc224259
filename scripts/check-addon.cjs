// Loads a built addon in a fresh process and checks what scripts/check-configurations.sh needs:
// backendInfo().reason matches REASON (empty when CUDA is active), cpuGemm matches GEMM, and an
// fp32 and a bf16 GEMM match double references (bf16: on the bf16-rounded operands).
//   node scripts/check-addon.cjs ADDON REASON_REGEX GEMM_REGEX
// Prints one line (reason, CPU GEMM, errors); exits 1 with the mismatch otherwise.
'use strict';
const path = require('node:path');

const [addonPath, reasonPattern, gemmPattern] = process.argv.slice(2);
function fail(message) {
  console.log(message);
  process.exit(1);
}

function random(n, seed) {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function bf16(x) {
  const u = new Uint32Array(new Float32Array([x]).buffer);
  u[0] = ((u[0] + 0x7fff + ((u[0] >>> 16) & 1)) >>> 16) << 16;
  return new Float32Array(u.buffer)[0];
}

function relError(got, a, b, m, n, k) {
  let num = 0, den = 0;
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[j * k + p];
      num += (got[i * n + j] - s) ** 2;
      den += s * s;
    }
  return Math.sqrt(num / den);
}

async function main() {
  const addon = require(path.resolve(addonPath));
  const info = addon.backendInfo();
  const reason = info.reason ?? '';
  if (!new RegExp(reasonPattern).test(reason)) fail(`backendInfo().reason '${reason}' does not match /${reasonPattern}/`);
  if (!new RegExp(gemmPattern).test(info.cpuGemm)) fail(`backendInfo().cpuGemm '${info.cpuGemm}' does not match /${gemmPattern}/`);
  const [m, n, k] = [37, 29, 131];
  const a = random(m * k, 1), b = random(n * k, 2);
  const c32 = await addon.gemm(a, b, { m, n, k, transB: true }, 'cpu');
  const c16 = await addon.gemm(a, b, { m, n, k, transB: true, precision: 'bf16' }, 'cpu');
  const e32 = relError(c32, a, b, m, n, k);
  const e16 = relError(c16, a.map(bf16), b.map(bf16), m, n, k);
  const e16exact = relError(c16, a, b, m, n, k);
  if (!(e32 <= 1e-5)) fail(`fp32 gemm: relative error ${e32} > 1e-5`);
  if (!(e16 <= 1e-5)) fail(`bf16 gemm: relative error ${e16} against the rounded-operand reference > 1e-5`);
  if (!(e16exact > 1e-4)) fail(`bf16 gemm: relative error ${e16exact} against the fp32 reference: the operands were not rounded`);
  console.log(`reason: ${reason || '(CUDA active)'}; cpuGemm: ${info.cpuGemm} (bf16 ${info.cpuGemmBf16}); gemm rel. error fp32 ${e32.toExponential(1)}, bf16 ${e16.toExponential(1)}`);
}

main().catch((e) => fail(`${e.name}: ${e.message}`));
