// ops.attention / ops.attentionJvp / ops.attentionBackward (kernel family: attention.h).
#include "args.h"
#include "async.h"
#include "registry.h"
#include "tensor_call.h"

namespace scm_binding {
namespace {

struct AttentionCall {
  ScmAttentionShape shape{};
  bool naive = false;
  std::vector<int32_t> key_lengths;
  bool has_key_lengths = false;
  size_t q_size = 0, kv_size = 0, lse_size = 0;
  scm::BackendKind backend = scm::BackendKind::Cpu;
};

// (desc, keyLengths, backend) at info[first], info[first+1], info[first+2].
AttentionCall read_call(const Napi::CallbackInfo& info, size_t first) {
  AttentionCall c;
  Napi::Object o = read_object(info, first, "attention shape");
  c.shape.batch = read_size(o, "batch");
  c.shape.heads = read_size(o, "heads");
  c.shape.len_q = read_size(o, "lenQ");
  c.shape.len_k = read_size(o, "lenK");
  c.shape.head_dim = read_size(o, "headDim");
  if (c.shape.head_dim < 1) scm::fail(SCM_E_ARGUMENT, "headDim must be at least 1");
  c.shape.scale = static_cast<float>(read_number(o, "scale", 1.0 / std::sqrt(static_cast<double>(c.shape.head_dim))));
  std::string precision = o.Get("precision").IsString() ? o.Get("precision").As<Napi::String>().Utf8Value() : "fp32";
  if (precision == "fp32") c.shape.precision = SCM_ATTN_FP32;
  else if (precision == "bf16") c.shape.precision = SCM_ATTN_BF16;
  else if (precision == "fp16") c.shape.precision = SCM_ATTN_FP16;
  else scm::fail(SCM_E_ARGUMENT, "unknown attention precision '", precision, "'");
  std::string impl = o.Get("implementation").IsString() ? o.Get("implementation").As<Napi::String>().Utf8Value() : "flash";
  if (impl != "flash" && impl != "naive") scm::fail(SCM_E_ARGUMENT, "unknown attention implementation '", impl, "'");
  c.naive = impl == "naive";
  c.q_size = checked_product({c.shape.batch, c.shape.heads, c.shape.len_q, c.shape.head_dim}, "attention");
  c.kv_size = checked_product({c.shape.batch, c.shape.heads, c.shape.len_k, c.shape.head_dim}, "attention");
  c.lse_size = checked_product({c.shape.batch, c.shape.heads, c.shape.len_q}, "attention");
  Napi::Value kl = info.Length() > first + 1 ? info[first + 1] : info.Env().Undefined();
  if (!kl.IsUndefined() && !kl.IsNull()) {
    if (!kl.IsTypedArray() || kl.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      scm::fail(SCM_E_ARGUMENT, "keyLengths must be an Int32Array");
    auto arr = kl.As<Napi::Int32Array>();
    if (static_cast<int64_t>(arr.ElementLength()) != c.shape.batch)
      scm::fail(SCM_E_SHAPE, "keyLengths has ", arr.ElementLength(), " elements, expected batch = ", c.shape.batch);
    c.key_lengths.assign(arr.Data(), arr.Data() + arr.ElementLength());
    for (int32_t len : c.key_lengths)
      if (len < 0 || len > c.shape.len_k) scm::fail(SCM_E_ARGUMENT, "keyLengths entry ", len, " is outside [0, lenK = ", c.shape.len_k, "]");
    c.has_key_lengths = true;
  }
  c.backend = scm::resolve_backend(read_backend(info.Length() > first + 2 ? info[first + 2] : info.Env().Undefined()));
  return c;
}

std::string q_shape(const AttentionCall& c) {
  return "batch x heads x lenQ x headDim = " + std::to_string(c.shape.batch) + "x" + std::to_string(c.shape.heads) + "x" +
         std::to_string(c.shape.len_q) + "x" + std::to_string(c.shape.head_dim);
}
std::string kv_shape(const AttentionCall& c) {
  return "batch x heads x lenK x headDim = " + std::to_string(c.shape.batch) + "x" + std::to_string(c.shape.heads) + "x" +
         std::to_string(c.shape.len_k) + "x" + std::to_string(c.shape.head_dim);
}

Napi::Value tuple(Napi::Env env, Tensors& t) {
  Napi::Array a = Napi::Array::New(env, t.size());
  for (size_t i = 0; i < t.size(); ++i) a.Set(static_cast<uint32_t>(i), to_float32_array(env, std::move(t[i])));
  return a;
}

// attentionForward(q, k, v, desc, keyLengths, backend, abort) -> [o, lse]
Napi::Value attention_forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    AttentionCall c = read_call(info, 3);
    auto q = read_floats(info[0], "q"), k = read_floats(info[1], "k"), v = read_floats(info[2], "v");
    expect_length(q, c.q_size, "q", q_shape(c));
    expect_length(k, c.kv_size, "k", kv_shape(c));
    expect_length(v, c.kv_size, "v", kv_shape(c));
    AbortFlag abort(info.Length() > 6 ? info[6] : env.Undefined());
    return run_async(env, abort,
        [c, q = std::move(q), k = std::move(k), v = std::move(v)](const AbortFlag&) mutable -> Tensors {
          return call_with_tensors(c.backend, {&q, &k, &v}, {c.q_size, c.lse_size}, c.has_key_lengths ? &c.key_lengths : nullptr,
              [&](const ScmKernels& kt, const KernelIo& io) {
                ScmAttentionShape s = c.shape;
                s.key_lengths = io.ints;
                auto fn = c.naive ? kt.attention.naive_forward : kt.attention.forward;
                if (!fn) scm::fail(SCM_E_BACKEND_UNAVAILABLE, "attention forward is not implemented on this backend");
                return fn(&s, io.in[0], io.in[1], io.in[2], io.out[0], io.out[1]);
              }, "attention forward");
        }, tuple);
  });
}
SCM_EXPORT("attentionForward", attention_forward);

// attentionJvp(q, k, v, tq, tk, tv, desc, keyLengths, backend, abort) -> [o, to, lse]
Napi::Value attention_jvp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    AttentionCall c = read_call(info, 6);
    auto q = read_floats(info[0], "q"), k = read_floats(info[1], "k"), v = read_floats(info[2], "v");
    auto tq = read_floats(info[3], "tq"), tk = read_floats(info[4], "tk"), tv = read_floats(info[5], "tv");
    expect_length(q, c.q_size, "q", q_shape(c));
    expect_length(k, c.kv_size, "k", kv_shape(c));
    expect_length(v, c.kv_size, "v", kv_shape(c));
    expect_length(tq, c.q_size, "tq", q_shape(c));
    expect_length(tk, c.kv_size, "tk", kv_shape(c));
    expect_length(tv, c.kv_size, "tv", kv_shape(c));
    AbortFlag abort(info.Length() > 9 ? info[9] : env.Undefined());
    return run_async(env, abort,
        [c, q = std::move(q), k = std::move(k), v = std::move(v), tq = std::move(tq), tk = std::move(tk),
         tv = std::move(tv)](const AbortFlag&) mutable -> Tensors {
          return call_with_tensors(c.backend, {&q, &k, &v, &tq, &tk, &tv}, {c.q_size, c.q_size, c.lse_size},
              c.has_key_lengths ? &c.key_lengths : nullptr,
              [&](const ScmKernels& kt, const KernelIo& io) {
                ScmAttentionShape s = c.shape;
                s.key_lengths = io.ints;
                auto fn = c.naive ? kt.attention.naive_jvp : kt.attention.jvp;
                if (!fn) scm::fail(SCM_E_BACKEND_UNAVAILABLE, "attention JVP is not implemented on this backend");
                return fn(&s, io.in[0], io.in[1], io.in[2], io.in[3], io.in[4], io.in[5], io.out[0], io.out[1], io.out[2]);
              }, "attention JVP");
        }, tuple);
  });
}
SCM_EXPORT("attentionJvp", attention_jvp);

// attentionBackward(q, k, v, o, lse, dout, desc, keyLengths, backend, abort) -> [dq, dk, dv]
Napi::Value attention_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return js_guard(env, [&]() -> Napi::Value {
    AttentionCall c = read_call(info, 6);
    auto q = read_floats(info[0], "q"), k = read_floats(info[1], "k"), v = read_floats(info[2], "v");
    auto o = read_floats(info[3], "out"), lse = read_floats(info[4], "lse"), dout = read_floats(info[5], "gradOut");
    expect_length(q, c.q_size, "q", q_shape(c));
    expect_length(k, c.kv_size, "k", kv_shape(c));
    expect_length(v, c.kv_size, "v", kv_shape(c));
    expect_length(o, c.q_size, "out", q_shape(c));
    expect_length(lse, c.lse_size, "lse", "batch x heads x lenQ");
    expect_length(dout, c.q_size, "gradOut", q_shape(c));
    AbortFlag abort(info.Length() > 9 ? info[9] : env.Undefined());
    return run_async(env, abort,
        [c, q = std::move(q), k = std::move(k), v = std::move(v), o = std::move(o), lse = std::move(lse),
         dout = std::move(dout)](const AbortFlag&) mutable -> Tensors {
          return call_with_tensors(c.backend, {&q, &k, &v, &o, &lse, &dout}, {c.q_size, c.kv_size, c.kv_size},
              c.has_key_lengths ? &c.key_lengths : nullptr,
              [&](const ScmKernels& kt, const KernelIo& io) {
                ScmAttentionShape s = c.shape;
                s.key_lengths = io.ints;
                auto fn = c.naive ? kt.attention.naive_backward : kt.attention.backward;
                if (!fn) scm::fail(SCM_E_BACKEND_UNAVAILABLE, "attention backward is not implemented on this backend");
                return fn(&s, io.in[0], io.in[1], io.in[2], io.in[3], io.in[4], io.in[5], io.out[0], io.out[1], io.out[2]);
              }, "attention backward");
        }, tuple);
  });
}
SCM_EXPORT("attentionBackward", attention_backward);

}  // namespace
}  // namespace scm_binding
