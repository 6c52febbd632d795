// spanwire native addon: entry point and shared helpers. Mechanism only: capture and hand bytes to JS.
#include "common.h"

#include <string.h>

namespace spanwire {

std::string ErrnoName(int err) {
  const char *n = strerrorname_np(err);
  return n ? std::string(n) : std::string("E?") + std::to_string(err);
}

std::string ErrnoText(int err) {
  char buf[256];
  const char *s = strerror_r(err, buf, sizeof buf);  // GNU variant
  return std::string(s) + " (" + ErrnoName(err) + ")";
}

void ThrowError(Napi::Env env, const std::string &message, int err) {
  Napi::Error e = Napi::Error::New(env, message);
  if (err != 0) {
    e.Value().Set("code", Napi::String::New(env, ErrnoName(err)));
    e.Value().Set("errno", Napi::Number::New(env, err));
  }
  e.ThrowAsJavaScriptException();
}

bool OptString(Napi::Env env, Napi::Object o, const char *key, std::string &out, bool required) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) {
      ThrowError(env, std::string("option '") + key + "' is required", EINVAL);
      return false;
    }
    return true;
  }
  if (!v.IsString()) {
    ThrowError(env, std::string("option '") + key + "' must be a string", EINVAL);
    return false;
  }
  out = v.As<Napi::String>().Utf8Value();
  return true;
}

bool OptU32(Napi::Env env, Napi::Object o, const char *key, uint32_t &out, uint32_t min, uint32_t max) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsNumber()) {
    ThrowError(env, std::string("option '") + key + "' must be a number", EINVAL);
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != (double)(uint64_t)d) {
    ThrowError(env,
               std::string("option '") + key + "' must be an integer in [" + std::to_string(min) + ", " +
                   std::to_string(max) + "], got " + v.ToString().Utf8Value(),
               EINVAL);
    return false;
  }
  out = (uint32_t)d;
  return true;
}

bool OptU32Array(Napi::Env env, Napi::Object o, const char *key, std::vector<uint32_t> &out, size_t maxLen,
                 uint32_t maxValue) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsArray()) {
    ThrowError(env, std::string("option '") + key + "' must be an array of numbers", EINVAL);
    return false;
  }
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > maxLen) {
    ThrowError(env, std::string("option '") + key + "' has more than " + std::to_string(maxLen) + " entries",
               EINVAL);
    return false;
  }
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= maxValue) || d != (double)(uint64_t)d) {
      ThrowError(env, std::string("option '") + key + "' entry " + std::to_string(i) + " is not an integer in [0, " +
                          std::to_string(maxValue) + "]",
                 EINVAL);
      return false;
    }
    out.push_back((uint32_t)d);
  }
  return true;
}

bool OptStringArray(Napi::Env env, Napi::Object o, const char *key, std::vector<std::string> &out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsArray()) {
    ThrowError(env, std::string("option '") + key + "' must be an array of strings", EINVAL);
    return false;
  }
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsString()) {
      ThrowError(env, std::string("option '") + key + "' entry " + std::to_string(i) + " is not a string", EINVAL);
      return false;
    }
    out.push_back(e.As<Napi::String>().Utf8Value());
  }
  return true;
}

// ---- Delivery ----

bool Delivery::Init(Napi::Env env, Napi::Function cb, const char *name, uint32_t maxQueued) {
  maxQueued_ = maxQueued;
  tsfn_ = Napi::ThreadSafeFunction::New(env, cb, name, 0 /* unlimited: bounded by maxQueued_ */, 1);
  if (env.IsExceptionPending()) return false;
  live_ = true;
  return true;
}

bool Delivery::Send(std::unique_ptr<Batch> batch) {
  std::shared_ptr<Shared> sh = shared_;
  if (sh->closed.load()) return false;
  if (sh->queued.load() >= maxQueued_) {
    sh->lost.fetch_add(batch->records);
    return false;
  }
  sh->queued.fetch_add(1);
  Batch *b = batch.release();
  uint64_t records = b->records;
  napi_status st = tsfn_.NonBlockingCall(b, [sh](Napi::Env env, Napi::Function cb, Batch *b) {
    sh->queued.fetch_sub(1);
    std::unique_ptr<Batch> owned(b);
    if (env == nullptr || cb == nullptr || sh->closed.load()) return;
    uint8_t *data = owned->data;
    size_t len = owned->len;
    owned->data = nullptr;  // ownership moves to the Buffer
    Napi::Buffer<uint8_t> buf =
        Napi::Buffer<uint8_t>::New(env, data, len, [](Napi::Env, uint8_t *p) { std::free(p); });
    sh->batches.fetch_add(1);
    sh->delivered.fetch_add(owned->records);
    cb.Call({buf});
  });
  if (st != napi_ok) {
    sh->queued.fetch_sub(1);
    sh->lost.fetch_add(records);
    delete b;
    return false;
  }
  return true;
}

void Delivery::Close() {
  shared_->closed.store(true);
  if (live_) {
    live_ = false;
    tsfn_.Release();
  }
}

void Delivery::Ref(Napi::Env env) {
  if (live_) tsfn_.Ref(env);
}

void Delivery::Unref(Napi::Env env) {
  if (live_) tsfn_.Unref(env);
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  AddonData *data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  InitAfPacket(env, exports, data);
  InitEbpf(env, exports, data);
  return exports;
}

}  // namespace spanwire

static Napi::Object InitSpanwire(Napi::Env env, Napi::Object exports) { return spanwire::Init(env, exports); }

NODE_API_MODULE(spanwire_native, InitSpanwire)
