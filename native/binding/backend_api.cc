// backendInfo / setBackend / CPU thread count.
#include "args.h"
#include "async.h"
#include "registry.h"
#include "../core/parallel.h"
#include "../cpu/gemm_dispatch.h"

namespace scm_binding {
namespace {

Napi::Object device_object(Napi::Env env, const ScmKernels& k) {
  ScmDeviceProperties p{};
  scm::check(k, k.memory.properties(&p), "reading device properties");
  Napi::Object d = Napi::Object::New(env);
  d.Set("name", p.name);
  d.Set("memoryBytes", Napi::Number::New(env, static_cast<double>(p.memory_bytes)));
  d.Set("computeCapability", std::to_string(p.compute_capability_major) + "." + std::to_string(p.compute_capability_minor));
  d.Set("multiprocessors", p.multiprocessors);
  return d;
}

// { active, requested, available, reason?, cudaDevice?, device, cpuThreads, cpuGemm, cpuGemmBf16 }
Napi::Value backend_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    std::string reason;
    const ScmKernels* cuda = scm::cuda_kernels(&reason);
    scm::BackendKind chosen = scm::default_backend();
    scm::BackendKind active = (chosen == scm::BackendKind::Cpu || !cuda) ? scm::BackendKind::Cpu : scm::BackendKind::Cuda;
    Napi::Object o = Napi::Object::New(env);
    o.Set("active", scm::backend_name(active));
    o.Set("requested", scm::backend_name(chosen));
    Napi::Array available = Napi::Array::New(env);
    uint32_t n = 0;
    if (cuda) available.Set(n++, "cuda");
    available.Set(n++, "cpu");
    o.Set("available", available);
    if (active == scm::BackendKind::Cpu) {
      if (cuda) o.Set("reason", "CUDA is available but the CPU backend was selected with setBackend('cpu')");
      else o.Set("reason", reason);
    }
    if (cuda) o.Set("cudaDevice", device_object(env, *cuda));
    o.Set("device", device_object(env, active == scm::BackendKind::Cuda ? *cuda : scm::cpu_kernels()));
    o.Set("cpuThreads", scm::cpu_thread_count());
    o.Set("cpuGemm", scm::cpu::gemm_library_name());
    o.Set("cpuGemmBf16", scm::cpu::gemm_native_bf16() ? "native" : "fp32");
    return o;
  });
}
SCM_EXPORT("backendInfo", backend_info);

Napi::Value set_backend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    scm::BackendKind kind = read_backend(info.Length() > 0 ? info[0] : env.Undefined());
    if (kind == scm::BackendKind::Cuda) scm::resolve_backend(kind);  // throws with the reason
    scm::set_default_backend(kind);
    return env.Undefined();
  });
}
SCM_EXPORT("setBackend", set_backend);

Napi::Value set_cpu_threads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    if (info.Length() > 0) o.Set("threads", info[0]);
    int64_t n = read_size(o, "threads");
    if (n < 1 || n > 1024) scm::fail(SCM_E_ARGUMENT, "threads must be between 1 and 1024, got ", n);
    scm::set_cpu_thread_count(static_cast<int>(n));
    return env.Undefined();
  });
}
SCM_EXPORT("setCpuThreads", set_cpu_threads);

}  // namespace
}  // namespace scm_binding
