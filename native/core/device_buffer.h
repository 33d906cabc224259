// DeviceBuffer: owning RAII handle to memory of one backend (host memory for the CPU).
#pragma once
#include <cstring>
#include <vector>
#include "backend.h"

namespace scm {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const ScmKernels& k, size_t bytes) : k_(&k), bytes_(bytes) {
    check(k, k.memory.alloc(&ptr_, bytes), "allocating backend memory");
  }
  template <class T>
  static DeviceBuffer from_host(const ScmKernels& k, const T* data, size_t count) {
    DeviceBuffer b(k, count * sizeof(T));
    b.upload(data, count);
    return b;
  }
  template <class T>
  static DeviceBuffer from_host(const ScmKernels& k, const std::vector<T>& v) {
    return from_host(k, v.data(), v.size());
  }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept { *this = std::move(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      k_ = o.k_; ptr_ = o.ptr_; bytes_ = o.bytes_;
      o.ptr_ = nullptr; o.bytes_ = 0;
    }
    return *this;
  }

  template <class T = float> T* as() const { return static_cast<T*>(ptr_); }
  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }

  template <class T>
  void upload(const T* data, size_t count) {
    require(count * sizeof(T) <= bytes_, SCM_E_INTERNAL, "upload larger than buffer");
    if (count) check(*k_, k_->memory.copy_to_device(ptr_, data, count * sizeof(T)), "copy to device");
  }
  template <class T>
  void download(T* data, size_t count) const {
    require(count * sizeof(T) <= bytes_, SCM_E_INTERNAL, "download larger than buffer");
    if (count) check(*k_, k_->memory.copy_to_host(data, ptr_, count * sizeof(T)), "copy to host");
  }
  template <class T = float>
  std::vector<T> to_vector() const {
    std::vector<T> out(bytes_ / sizeof(T));
    download(out.data(), out.size());
    return out;
  }
  // Fills every byte (0xFF makes every float a NaN: used to poison outputs in tests).
  void fill_bytes(int value) {
    if (bytes_) check(*k_, k_->memory.fill_bytes(ptr_, value, bytes_), "fill");
  }

  void reset() {
    if (ptr_ && k_) k_->memory.free(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }

 private:
  const ScmKernels* k_ = nullptr;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace scm
