// Shared conventions of the kernel table (see table.h).
//
// Every kernel family is a struct of plain function pointers. The CPU backend fills it with
// the float instantiations of the reference kernels in native/cpu; the CUDA backend library
// (native/cuda, loaded with dlopen) fills the same struct with CUDA kernels. Core code only
// ever calls through the table, so a family gains a CUDA version without touching callers.
//
// Conventions for every entry:
//  - returns 0 on success, or an ScmStatus code (status.h) with a message retrievable from
//    ScmKernels::last_error() on the same thread;
//  - pointers are backend memory: host memory for the CPU backend, device memory for CUDA;
//  - tensors are dense, row-major, float32 unless the name says otherwise;
//  - "dual" passes take (x, tx) and produce (y, ty): forward-mode JVP, weights have zero tangent;
//  - "backward" passes OVERWRITE input gradients and ACCUMULATE (+=) parameter gradients,
//    so a parameter used twice, or several micro-batches, just add up;
//  - nullable pointers are marked "nullable" and mean "not wanted" / "not present".
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "../status.h"
