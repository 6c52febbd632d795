// spanwire native addon: libbpf loader for spanwire's BPF object (bpf/spanwire.bpf.c). Loads it, writes sw_config,
// attaches tp_btf sys_enter/sys_exit and the OpenSSL uprobes, and drains the ring buffer from a native thread
// with ring_buffer__consume() every drainMs (the BPF side submits with BPF_RB_NO_WAKEUP), handing JS one Buffer
// per drain: [u32 recordLen][record: struct sw_event + payload][zero pad to 8] ...
#include "common.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <thread>

#include "events.h"

namespace spanwire {
namespace {

static_assert(sizeof(struct sw_event) == SW_EVENT_HEADER, "sw_event header size");
static_assert(offsetof(struct sw_event, ts_exit_ns) == 8, "layout");
static_assert(offsetof(struct sw_event, pid) == 16, "layout");
static_assert(offsetof(struct sw_event, fd) == 24, "layout");
static_assert(offsetof(struct sw_event, kind) == 28, "layout");
static_assert(offsetof(struct sw_event, direction) == 30, "layout");
static_assert(offsetof(struct sw_event, syscall) == 32, "layout");
static_assert(offsetof(struct sw_event, flags) == 36, "layout");
static_assert(offsetof(struct sw_event, sport) == 40, "layout");
static_assert(offsetof(struct sw_event, dport) == 42, "layout");
static_assert(offsetof(struct sw_event, saddr) == 44, "layout");
static_assert(offsetof(struct sw_event, daddr) == 60, "layout");
static_assert(offsetof(struct sw_event, tcp_seq) == 76, "layout");
static_assert(offsetof(struct sw_event, total_len) == 80, "layout");
static_assert(offsetof(struct sw_event, captured_len) == 84, "layout");
static_assert(offsetof(struct sw_event, ssl_id) == 88, "layout");
static_assert(offsetof(struct sw_event, sock_id) == 96, "layout");
static_assert(offsetof(struct sw_event, comm) == 104, "layout");
static_assert(offsetof(struct sw_event, payload) == 120, "layout");

// libbpf's messages: kept (the tail) to explain a failed load; printed only with SPANWIRE_LIBBPF_DEBUG=1.
std::mutex gLogMu;
std::string gLog;
bool gLogDebug = false;

int LibbpfPrint(enum libbpf_print_level level, const char *fmt, va_list ap) {
  // a verifier log comes as one message of up to megabytes: format it whole (its end is what explains a failure)
  va_list cp;
  va_copy(cp, ap);
  int n = vsnprintf(nullptr, 0, fmt, cp);
  va_end(cp);
  if (n <= 0) return 0;
  std::string text((size_t)n + 1, '\0');
  vsnprintf(&text[0], text.size(), fmt, ap);
  text.resize((size_t)n);
  const char *buf = text.c_str();
  if (gLogDebug) fputs(buf, stderr);
  if (level == LIBBPF_DEBUG) return 0;
  std::lock_guard<std::mutex> g(gLogMu);
  gLog += buf;
  if (gLog.size() > 16384) gLog.erase(0, gLog.size() - 16384);
  return 0;
}

std::string TakeLog() {
  std::lock_guard<std::mutex> g(gLogMu);
  std::string s;
  s.swap(gLog);
  // the last few lines are the useful ones (verifier's verdict, libbpf's reason)
  size_t keep = 1500;
  if (s.size() > keep) s = "..." + s.substr(s.size() - keep);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

const char *kSslFuncs[4][2] = {
    {"SSL_write", "sw_ssl_write"},
    {"SSL_write_ex", "sw_ssl_write_ex"},
    {"SSL_read", "sw_ssl_read"},
    {"SSL_read_ex", "sw_ssl_read_ex"},
};

class EbpfHandle : public Napi::ObjectWrap<EbpfHandle>, public Closable {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "EbpfHandle",
                       {
                           InstanceMethod("stats", &EbpfHandle::Stats),
                           InstanceMethod("close", &EbpfHandle::Close),
                           InstanceMethod("ref", &EbpfHandle::RefLoop),
                           InstanceMethod("unref", &EbpfHandle::UnrefLoop),
                           InstanceAccessor("warnings", &EbpfHandle::Warnings, nullptr),
                           InstanceAccessor("sslAttached", &EbpfHandle::SslAttached, nullptr),
                       });
  }

  EbpfHandle(const Napi::CallbackInfo &info) : Napi::ObjectWrap<EbpfHandle>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      ThrowError(env, "ebpfOpen(opts, onBatch): opts must be an object and onBatch a function", EINVAL);
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    std::string objectPath;
    uint32_t excludePid = 0, maxPayload = 4096, ringBytes = 16u << 20, drainMs = 10, maxQueued = 1024;
    std::vector<uint32_t> pids, ports;
    std::vector<std::string> sslLibs;
    if (!OptString(env, o, "objectPath", objectPath, true) || !OptU32(env, o, "excludePid", excludePid, 0, ~0u) ||
        !OptU32Array(env, o, "pidFilter", pids, SW_MAX_FILTER, ~0u) ||
        !OptU32Array(env, o, "portFilter", ports, SW_MAX_FILTER, 65535) ||
        !OptU32(env, o, "maxPayload", maxPayload, 0, SW_MAX_PAYLOAD) ||
        !OptU32(env, o, "ringBytes", ringBytes, 4096, 1u << 30) || !OptU32(env, o, "drainMs", drainMs, 1, 10000) ||
        !OptU32(env, o, "maxQueuedBatches", maxQueued, 1, 1u << 20) ||
        !OptStringArray(env, o, "sslLibs", sslLibs))
      return;
    drainMs_ = drainMs;
    // ring size: a power of two multiple of the page size
    uint32_t rb = 4096;
    while (rb < ringBytes) rb <<= 1;

    struct stat stt;
    if (stat("/sys/kernel/btf/vmlinux", &stt) != 0) {
      int e = errno;
      ThrowError(env, "ebpfOpen: the kernel has no BTF (/sys/kernel/btf/vmlinux: " + ErrnoText(e) +
                          "): tp_btf programs and CO-RE need CONFIG_DEBUG_INFO_BTF",
                 e);
      return;
    }
    if (stat(objectPath.c_str(), &stt) != 0) {
      int e = errno;
      ThrowError(env, "ebpfOpen: BPF object not found: " + objectPath + ": " + ErrnoText(e) +
                          " (run `npm run build:native`)",
                 e);
      return;
    }
    TakeLog();
    obj_ = bpf_object__open_file(objectPath.c_str(), nullptr);
    if (!obj_) {
      int e = errno;
      Fail(env, "cannot open BPF object " + objectPath, e);
      return;
    }
    struct bpf_map *events = bpf_object__find_map_by_name(obj_, "sw_events");
    struct bpf_map *scrSys = bpf_object__find_map_by_name(obj_, "sw_scratch_sys");
    if (!events || !scrSys) {
      Fail(env, "BPF object " + objectPath + " is not spanwire's (maps missing)", EINVAL);
      return;
    }
    ncpus_ = libbpf_num_possible_cpus();
    if (ncpus_ <= 0) ncpus_ = 256;
    bpf_map__set_max_entries(events, rb);
    bpf_map__set_max_entries(scrSys, (uint32_t)ncpus_);
    // the uprobe programs are attached below, per library and function
    struct bpf_program *prog;
    bpf_object__for_each_program(prog, obj_) bpf_program__set_autoattach(prog, false);
    int err = bpf_object__load(obj_);
    if (err) {
      int e = -err;
      std::string hint;
      if (e == EPERM || e == EACCES)
        hint = " (loading BPF programs needs root, or CAP_BPF + CAP_PERFMON)";
      Fail(env, "loading BPF object " + objectPath + " failed" + hint, e);
      return;
    }
    // config
    struct sw_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.exclude_pid = excludePid;
    cfg.max_payload = maxPayload;
    cfg.n_pids = (uint32_t)pids.size();
    for (size_t i = 0; i < pids.size(); i++) cfg.pids[i] = pids[i];
    cfg.n_ports = (uint32_t)ports.size();
    for (size_t i = 0; i < ports.size(); i++) cfg.ports[i] = (uint16_t)ports[i];
    struct bpf_map *cfgMap = bpf_object__find_map_by_name(obj_, "sw_config");
    uint32_t zero = 0;
    if (!cfgMap || bpf_map_update_elem(bpf_map__fd(cfgMap), &zero, &cfg, BPF_ANY) != 0) {
      Fail(env, "writing sw_config failed", cfgMap ? errno : EINVAL);
      return;
    }
    struct bpf_map *cnt = bpf_object__find_map_by_name(obj_, "sw_counters");
    countersFd_ = cnt ? bpf_map__fd(cnt) : -1;
    // ring buffer reader
    rb_ = ring_buffer__new(bpf_map__fd(events), &EbpfHandle::OnSample, this, nullptr);
    if (!rb_) {
      Fail(env, "ring_buffer__new failed", errno);
      return;
    }
    // syscall programs
    for (const char *name : {"sw_sys_enter", "sw_sys_exit"}) {
      struct bpf_program *p = bpf_object__find_program_by_name(obj_, name);
      struct bpf_link *l = p ? bpf_program__attach(p) : nullptr;
      if (!l) {
        int e = p ? errno : EINVAL;
        Fail(env, std::string("attaching ") + name + " (tp_btf) failed", e);
        return;
      }
      links_.push_back(l);
    }
    // OpenSSL uprobes: failures are warnings
    struct bpf_program *ret = bpf_object__find_program_by_name(obj_, "sw_ssl_ret");
    for (const std::string &lib : sslLibs) {
      if (access(lib.c_str(), R_OK) != 0) {
        warnings_.push_back("ssl: " + lib + ": " + ErrnoText(errno));
        continue;
      }
      int ok = 0;
      std::string missing;
      for (auto &f : kSslFuncs) {
        struct bpf_program *entry = bpf_object__find_program_by_name(obj_, f[1]);
        if (!entry || !ret) continue;
        LIBBPF_OPTS(bpf_uprobe_opts, eo, .retprobe = false, .func_name = f[0]);
        struct bpf_link *le = bpf_program__attach_uprobe_opts(entry, -1, lib.c_str(), 0, &eo);
        if (!le) {
          missing += std::string(missing.empty() ? "" : ", ") + f[0] + " (" + ErrnoName(errno) + ")";
          continue;
        }
        LIBBPF_OPTS(bpf_uprobe_opts, ro, .retprobe = true, .func_name = f[0]);
        struct bpf_link *lr = bpf_program__attach_uprobe_opts(ret, -1, lib.c_str(), 0, &ro);
        if (!lr) {
          missing += std::string(missing.empty() ? "" : ", ") + f[0] + " return (" + ErrnoName(errno) + ")";
          bpf_link__destroy(le);
          continue;
        }
        links_.push_back(le);
        links_.push_back(lr);
        ok++;
      }
      if (ok > 0) {
        // SSL_free: forget the SSL*'s socket (optional: without it a reused SSL* may name a stale socket)
        struct bpf_program *fr = bpf_object__find_program_by_name(obj_, "sw_ssl_free");
        LIBBPF_OPTS(bpf_uprobe_opts, fo, .retprobe = false, .func_name = "SSL_free");
        struct bpf_link *lf = fr ? bpf_program__attach_uprobe_opts(fr, -1, lib.c_str(), 0, &fo) : nullptr;
        if (lf)
          links_.push_back(lf);
        else
          missing += std::string(missing.empty() ? "" : ", ") + "SSL_free (" + ErrnoName(errno) + ")";
      }
      if (ok > 0) sslAttached_.push_back(lib);
      if (!missing.empty())
        warnings_.push_back("ssl: " + lib + ": not attached: " + missing + (ok == 0 ? " (no OpenSSL symbols?)" : ""));
    }
    TakeLog();
    if (!delivery_.Init(env, info[1].As<Napi::Function>(), "spanwire-ebpf", maxQueued)) {
      Cleanup();
      return;
    }
    open_ = true;
    thread_ = std::thread([this] { Run(); });
    WatchEnv(env);
    Ref();  // an open capture stays alive (like a listening server) until close()
  }

  ~EbpfHandle() override {
    CloseNative();
    Cleanup();
  }

  void CloseNative() override {
    if (!open_) return;
    open_ = false;
    UnwatchEnv();
    delivery_.Close();
    {
      std::lock_guard<std::mutex> g(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    ReadCounters();  // final kernel counters, kept for stats() after close
    Cleanup();
  }

 private:
  void Fail(Napi::Env env, const std::string &what, int e) {
    if (e < 0) e = -e;
    std::string log = TakeLog();
    ThrowError(env, "ebpfOpen: " + what + ": " + ErrnoText(e) + (log.empty() ? "" : "\n" + log), e);
    Cleanup();
  }

  void Cleanup() {
    for (struct bpf_link *l : links_) bpf_link__destroy(l);
    links_.clear();
    if (rb_) {
      ring_buffer__free(rb_);
      rb_ = nullptr;
    }
    if (obj_) {
      bpf_object__close(obj_);
      obj_ = nullptr;
    }
    countersFd_ = -1;
  }

  static int OnSample(void *ctx, void *data, size_t size) {
    EbpfHandle *self = (EbpfHandle *)ctx;
    // SSL events sit in a reservation of a fixed size class: only header + captured_len bytes were written
    if (size >= SW_EVENT_HEADER) {
      uint32_t cl;
      std::memcpy(&cl, (uint8_t *)data + offsetof(struct sw_event, captured_len), 4);
      if (SW_EVENT_HEADER + (size_t)cl <= size) size = SW_EVENT_HEADER + cl;
    }
    Batch &b = *self->batch_;
    size_t rec = (4 + size + 7) & ~(size_t)7;
    if (!b.Reserve(rec)) {
      self->lostNoMem_.fetch_add(1);
      return 0;
    }
    uint8_t *r = b.data + b.len;
    uint32_t len = (uint32_t)size;
    std::memcpy(r, &len, 4);
    std::memcpy(r + 4, data, size);
    std::memset(r + 4 + size, 0, rec - 4 - size);
    b.len += rec;
    b.records++;
    // a full batch stops this consume (the record is already consumed): it is sent and the drain continues
    return b.len >= kFlushAt ? -EAGAIN : 0;
  }

  void Run() {
    batch_.reset(new Batch());
    std::unique_lock<std::mutex> lk(mu_, std::defer_lock);
    while (true) {
      for (;;) {
        int n = ring_buffer__consume(rb_);
        bool full = n == -EAGAIN;
        if (batch_->len > 0) {
          delivery_.Send(std::move(batch_));
          batch_.reset(new Batch());
        }
        if (!full) break;
      }
      lk.lock();
      cv_.wait_for(lk, std::chrono::milliseconds(drainMs_), [this] { return stop_; });
      bool stop = stop_;
      lk.unlock();
      if (stop) break;
    }
  }

  void ReadCounters() {
    if (countersFd_ < 0) return;
    // runs the kernel skipped because a program was already running on that CPU (bpf_prog_info.recursion_misses)
    uint64_t missed = 0;
    struct bpf_program *p;
    bpf_object__for_each_program(p, obj_) {
      int fd = bpf_program__fd(p);
      if (fd < 0) continue;
      struct bpf_prog_info pi;
      std::memset(&pi, 0, sizeof pi);
      uint32_t len = sizeof pi;
      if (bpf_obj_get_info_by_fd(fd, &pi, &len) == 0) missed += pi.recursion_misses;
    }
    missed_ = missed;
    std::vector<uint64_t> vals((size_t)ncpus_);
    for (uint32_t k = 0; k < SW_CNT_MAX; k++) {
      if (bpf_map_lookup_elem(countersFd_, &k, vals.data()) != 0) continue;
      uint64_t s = 0;
      for (uint64_t v : vals) s += v;
      counters_[k] = s;
    }
  }

  Napi::Value Stats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (open_) ReadCounters();
    Napi::Object o = Napi::Object::New(env);
    o.Set("events", Napi::Number::New(env, (double)counters_[SW_CNT_EVENTS]));
    o.Set("drops", Napi::Number::New(env, (double)counters_[SW_CNT_DROPS]));
    o.Set("truncated", Napi::Number::New(env, (double)counters_[SW_CNT_TRUNCATED]));
    o.Set("batches", Napi::Number::New(env, (double)delivery_.batches()));
    o.Set("lost", Napi::Number::New(env, (double)(delivery_.lost() + lostNoMem_.load())));
    o.Set("delivered", Napi::Number::New(env, (double)delivery_.delivered()));
    o.Set("skipped", Napi::Number::New(env, (double)counters_[SW_CNT_SKIPPED]));
    o.Set("filtered", Napi::Number::New(env, (double)counters_[SW_CNT_FILTERED]));
    o.Set("missed", Napi::Number::New(env, (double)missed_));
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    if (open_) {
      CloseNative();
      Unref();  // the matching Ref() of the constructor: collectable again
    }
    return info.Env().Undefined();
  }

  Napi::Value RefLoop(const Napi::CallbackInfo &info) {
    if (open_) delivery_.Ref(info.Env());
    return info.This();
  }

  Napi::Value UnrefLoop(const Napi::CallbackInfo &info) {
    if (open_) delivery_.Unref(info.Env());
    return info.This();
  }

  Napi::Value Warnings(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Array a = Napi::Array::New(env, warnings_.size());
    for (size_t i = 0; i < warnings_.size(); i++) a.Set((uint32_t)i, Napi::String::New(env, warnings_[i]));
    return a;
  }

  Napi::Value SslAttached(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Array a = Napi::Array::New(env, sslAttached_.size());
    for (size_t i = 0; i < sslAttached_.size(); i++) a.Set((uint32_t)i, Napi::String::New(env, sslAttached_[i]));
    return a;
  }

  static constexpr size_t kFlushAt = (size_t)8 << 20;

  struct bpf_object *obj_ = nullptr;
  struct ring_buffer *rb_ = nullptr;
  std::vector<struct bpf_link *> links_;
  int countersFd_ = -1;
  int ncpus_ = 1;
  uint32_t drainMs_ = 10;
  bool open_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
  std::unique_ptr<Batch> batch_;
  Delivery delivery_;
  std::vector<std::string> warnings_;
  std::vector<std::string> sslAttached_;
  uint64_t counters_[SW_CNT_MAX] = {0};
  uint64_t missed_ = 0;
  std::atomic<uint64_t> lostNoMem_{0};
};

Napi::Value EbpfOpen(const Napi::CallbackInfo &info) {
  AddonData *d = info.Env().GetInstanceData<AddonData>();
  std::vector<napi_value> args;
  for (size_t i = 0; i < info.Length(); i++) args.push_back(info[i]);
  return d->ebpfCtor.New(args);
}

}  // namespace

Napi::Object InitEbpf(Napi::Env env, Napi::Object exports, AddonData *data) {
  const char *dbg = getenv("SPANWIRE_LIBBPF_DEBUG");
  gLogDebug = dbg && *dbg && std::strcmp(dbg, "0") != 0;
  libbpf_set_print(LibbpfPrint);
  Napi::Function ctor = EbpfHandle::Define(env);
  data->ebpfCtor = Napi::Persistent(ctor);
  exports.Set("ebpfOpen", Napi::Function::New(env, EbpfOpen, "ebpfOpen"));

  Napi::Object layout = Napi::Object::New(env);
  layout.Set("headerSize", SW_EVENT_HEADER);
  layout.Set("recordPrefix", 4);
  layout.Set("align", 8);
  layout.Set("maxPayload", SW_MAX_PAYLOAD);
  layout.Set("maxFilter", SW_MAX_FILTER);
  Napi::Object off = Napi::Object::New(env);
  off.Set("tsEnterNs", 0);
  off.Set("tsExitNs", 8);
  off.Set("pid", 16);
  off.Set("tid", 20);
  off.Set("fd", 24);
  off.Set("kind", 28);
  off.Set("direction", 30);
  off.Set("syscall", 32);
  off.Set("flags", 36);
  off.Set("sport", 40);
  off.Set("dport", 42);
  off.Set("saddr", 44);
  off.Set("daddr", 60);
  off.Set("tcpSeq", 76);
  off.Set("totalLen", 80);
  off.Set("capturedLen", 84);
  off.Set("sslId", 88);
  off.Set("sockId", 96);
  off.Set("comm", 104);
  off.Set("payload", 120);
  layout.Set("offsets", off);
  Napi::Object kinds = Napi::Object::New(env);
  kinds.Set("DATA", SW_KIND_DATA);
  kinds.Set("CONNECT", SW_KIND_CONNECT);
  kinds.Set("ACCEPT", SW_KIND_ACCEPT);
  kinds.Set("CLOSE", SW_KIND_CLOSE);
  kinds.Set("SSL_DATA", SW_KIND_SSL_DATA);
  layout.Set("kinds", kinds);
  Napi::Object flags = Napi::Object::New(env);
  flags.Set("TRUNCATED", SW_FLAG_TRUNCATED);
  flags.Set("IPV6", SW_FLAG_IPV6);
  flags.Set("UDP", SW_FLAG_UDP);
  flags.Set("PEER_ADDR", SW_FLAG_PEER_ADDR);
  flags.Set("NO_SOCK", SW_FLAG_NO_SOCK);
  layout.Set("flags", flags);
  layout.Set("syscallSsl", SW_SYSCALL_SSL);
  exports.Set("ebpfLayout", layout);
  return exports;
}

}  // namespace spanwire
