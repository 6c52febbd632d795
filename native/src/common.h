// spanwire native addon: helpers shared by the AF_PACKET and eBPF handles.
#pragma once

#include <napi.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace spanwire {

// "ENOENT" for errno 2; "E?" if unknown.
std::string ErrnoName(int err);
// "No such file or directory (ENOENT)"
std::string ErrnoText(int err);

// Throws a JS Error with `message` and, when err != 0, `code` = errno name and `errno` = err.
void ThrowError(Napi::Env env, const std::string &message, int err);

// Reading options from a JS object, with defaults and range checks (throw and return false on a bad value).
bool OptString(Napi::Env env, Napi::Object o, const char *key, std::string &out, bool required);
bool OptU32(Napi::Env env, Napi::Object o, const char *key, uint32_t &out, uint32_t min, uint32_t max);
bool OptU32Array(Napi::Env env, Napi::Object o, const char *key, std::vector<uint32_t> &out, size_t maxLen,
                 uint32_t maxValue);
bool OptStringArray(Napi::Env env, Napi::Object o, const char *key, std::vector<std::string> &out);

// A growable byte buffer handed to JS as a Buffer without a copy (ownership moves to the Buffer).
struct Batch {
  uint8_t *data = nullptr;
  size_t len = 0;
  size_t cap = 0;
  uint64_t records = 0;
  ~Batch() { std::free(data); }
  bool Reserve(size_t extra) {
    if (len + extra <= cap) return true;
    size_t ncap = cap ? cap : (size_t)1 << 20;
    while (ncap < len + extra) ncap *= 2;
    void *p = std::realloc(data, ncap);
    if (!p) return false;
    data = (uint8_t *)p;
    cap = ncap;
    return true;
  }
};

// Delivers batches from a native thread to a JS callback through a ThreadSafeFunction. Once Close() has been
// called, queued batches are dropped: no callback runs after close() returns.
class Delivery {
 public:
  Delivery() = default;
  // Returns false (and throws) on failure.
  bool Init(Napi::Env env, Napi::Function cb, const char *name, uint32_t maxQueued);
  // From the native thread: hands the batch over (takes ownership). Returns false if the batch was dropped
  // (queue full or closing); its records are then counted in lost().
  bool Send(std::unique_ptr<Batch> batch);
  // From the JS thread.
  void Close();
  void Ref(Napi::Env env);
  void Unref(Napi::Env env);
  uint64_t batches() const { return shared_->batches.load(); }
  uint64_t lost() const { return shared_->lost.load(); }
  uint64_t delivered() const { return shared_->delivered.load(); }

 private:
  struct Shared {
    std::atomic<bool> closed{false};
    std::atomic<uint32_t> queued{0};
    std::atomic<uint64_t> batches{0};
    std::atomic<uint64_t> lost{0};
    std::atomic<uint64_t> delivered{0};
  };
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  Napi::ThreadSafeFunction tsfn_;
  uint32_t maxQueued_ = 1024;
  bool live_ = false;
};

// Handles still open when the environment is torn down (process exit, worker exit) are closed by an environment
// cleanup hook registered when they open: registered after their ThreadSafeFunction, it runs before Node finalizes
// that function, so the native thread is stopped while the function is still valid.
class Closable {
 public:
  virtual ~Closable() = default;
  virtual void CloseNative() = 0;
  void WatchEnv(napi_env env) {
    env_ = env;
    if (napi_add_env_cleanup_hook(env, &Closable::OnEnvCleanup, this) == napi_ok) hooked_ = true;
  }
  void UnwatchEnv() {
    if (hooked_) {
      hooked_ = false;
      napi_remove_env_cleanup_hook(env_, &Closable::OnEnvCleanup, this);
    }
  }

 private:
  static void OnEnvCleanup(void *arg) {
    Closable *c = (Closable *)arg;
    c->hooked_ = false;  // Node has removed it already
    c->CloseNative();
  }
  napi_env env_ = nullptr;
  bool hooked_ = false;
};

struct AddonData {
  Napi::FunctionReference afPacketCtor;
  Napi::FunctionReference ebpfCtor;
};

Napi::Object InitAfPacket(Napi::Env env, Napi::Object exports, AddonData *data);
Napi::Object InitEbpf(Napi::Env env, Napi::Object exports, AddonData *data);

}  // namespace spanwire
