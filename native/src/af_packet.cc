// spanwire native addon: AF_PACKET capture on a TPACKET_V3 RX ring with a classic BPF filter compiled by libpcap.
// A native thread polls the ring, copies every retired block's packets into one batch Buffer (records described
// in README.md), returns the blocks to the kernel and hands the batch to JS. No pointer into the ring reaches JS.
#include "common.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace spanwire {
namespace {

constexpr uint32_t kRecordHeader = 32;
constexpr uint16_t kLinkEthernet = 1;  // LINKTYPE_ETHERNET
constexpr uint16_t kLinkSll = 113;     // LINKTYPE_LINUX_SLL
constexpr uint32_t kSllHeader = 16;

inline size_t Align8(size_t n) { return (n + 7) & ~(size_t)7; }

// libpcap compiles a DLT_LINUX_SLL filter against a synthesized 16-byte cooked header; a SOCK_DGRAM packet socket
// runs the filter on the network-layer data. As libpcap does (pcap-linux.c fix_offset), loads past the cooked
// header are shifted down by 16 and loads of its pkttype/protocol fields become the kernel's ancillary loads.
bool FixCookedProgram(std::vector<sock_filter> &prog) {
  for (sock_filter &f : prog) {
    uint16_t cls = BPF_CLASS(f.code);
    if (cls != BPF_LD && cls != BPF_LDX) continue;
    uint16_t mode = BPF_MODE(f.code);
    if (mode != BPF_ABS && mode != BPF_IND && mode != BPF_MSH) continue;
    if (f.k >= kSllHeader) {
      f.k -= kSllHeader;
    } else if (f.k == 0 && mode == BPF_ABS) {
      f.k = SKF_AD_OFF + SKF_AD_PKTTYPE;
    } else if (f.k == 14 && mode == BPF_ABS) {
      f.k = SKF_AD_OFF + SKF_AD_PROTOCOL;
    } else if (f.k == 2 && mode == BPF_ABS) {
      f.k = SKF_AD_OFF + SKF_AD_HATYPE;
    } else {
      return false;
    }
  }
  return true;
}

class AfPacketHandle : public Napi::ObjectWrap<AfPacketHandle>, public Closable {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "AfPacketHandle",
                       {
                           InstanceMethod("stats", &AfPacketHandle::Stats),
                           InstanceMethod("close", &AfPacketHandle::Close),
                           InstanceMethod("ref", &AfPacketHandle::RefLoop),
                           InstanceMethod("unref", &AfPacketHandle::UnrefLoop),
                           InstanceAccessor("linkType", &AfPacketHandle::LinkType, nullptr),
                           InstanceAccessor("ifindex", &AfPacketHandle::Ifindex, nullptr),
                       });
  }

  AfPacketHandle(const Napi::CallbackInfo &info) : Napi::ObjectWrap<AfPacketHandle>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      ThrowError(env, "afPacketOpen(opts, onBatch): opts must be an object and onBatch a function", EINVAL);
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    std::string iface = "any", filter;
    uint32_t snaplen = 65535, blockSize = 1 << 20, blockCount = 64, pollMs = 10, maxQueued = 1024;
    if (!OptString(env, o, "iface", iface, false) || !OptString(env, o, "filter", filter, false) ||
        !OptU32(env, o, "snaplen", snaplen, 64, 262144) ||
        !OptU32(env, o, "blockSize", blockSize, 4096, 1u << 30) ||
        !OptU32(env, o, "blockCount", blockCount, 1, 65536) || !OptU32(env, o, "pollMs", pollMs, 1, 10000) ||
        !OptU32(env, o, "maxQueuedBatches", maxQueued, 1, 1u << 20))
      return;
    long page = sysconf(_SC_PAGESIZE);
    if (blockSize % page != 0 || (blockSize & (blockSize - 1)) != 0) {
      ThrowError(env, "afPacketOpen: blockSize must be a power of two multiple of the page size", EINVAL);
      return;
    }
    if ((uint64_t)blockSize * blockCount > ((uint64_t)4 << 30)) {
      ThrowError(env, "afPacketOpen: blockSize * blockCount must not exceed 4 GiB", EINVAL);
      return;
    }
    if (snaplen + 256 > blockSize) {
      ThrowError(env, "afPacketOpen: snaplen must be smaller than blockSize", EINVAL);
      return;
    }
    pollMs_ = (int)pollMs;

    // interface and link type
    int sockType = SOCK_RAW;
    if (iface.empty() || iface == "any") {
      ifindex_ = 0;
      cooked_ = true;
    } else {
      ifindex_ = (int)if_nametoindex(iface.c_str());
      if (ifindex_ == 0) {
        int e = errno;
        ThrowError(env, "afPacketOpen: no such interface '" + iface + "': " + ErrnoText(e), e);
        return;
      }
      int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      struct ifreq ifr;
      std::memset(&ifr, 0, sizeof ifr);
      std::strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
      int hatype = -1;
      if (s >= 0 && ioctl(s, SIOCGIFHWADDR, &ifr) == 0) hatype = ifr.ifr_hwaddr.sa_family;
      if (s >= 0) ::close(s);
      // Ethernet and loopback (whose link header is a zeroed Ethernet header) are captured raw; anything else
      // (tun, ip tunnels, ...) in cooked mode with a synthesized Linux SLL header.
      cooked_ = !(hatype == ARPHRD_ETHER || hatype == ARPHRD_LOOPBACK);
    }
    if (cooked_) sockType = SOCK_DGRAM;
    linkType_ = cooked_ ? kLinkSll : kLinkEthernet;
    loIndex_ = (int)if_nametoindex("lo");

    // filter
    pcap_t *dead = pcap_open_dead(cooked_ ? DLT_LINUX_SLL : DLT_EN10MB, (int)snaplen);
    if (!dead) {
      ThrowError(env, "afPacketOpen: pcap_open_dead failed", ENOMEM);
      return;
    }
    struct bpf_program bp;
    if (pcap_compile(dead, &bp, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      std::string msg = pcap_geterr(dead);
      pcap_close(dead);
      ThrowError(env, "afPacketOpen: bad filter '" + filter + "': " + msg + " (EINVAL)", EINVAL);
      return;
    }
    std::vector<sock_filter> prog;
    // Outgoing packets on loopback are seen twice (on transmit and on receive): drop the transmit copy, as
    // libpcap does, so that `lo` and `any` show each packet once.
    // 0: A = pkttype; 1: if A == OUTGOING goto 2 else goto 5; 2: A = ifindex; 3: if A == lo goto 4 else goto 5;
    // 4: return 0; 5: the compiled program
    prog.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE)));
    prog.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 3));
    prog.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_IFINDEX)));
    prog.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)loIndex_, 0, 1));
    prog.push_back(BPF_STMT(BPF_RET | BPF_K, 0));
    std::vector<sock_filter> user;
    for (u_int i = 0; i < bp.bf_len; i++) {
      const struct bpf_insn &in = bp.bf_insns[i];
      user.push_back(sock_filter{in.code, in.jt, in.jf, in.k});
    }
    pcap_freecode(&bp);
    pcap_close(dead);
    if (cooked_ && !FixCookedProgram(user)) {
      ThrowError(env,
                 "afPacketOpen: filter '" + filter +
                     "' tests link-layer header fields that a cooked capture (iface 'any') cannot test (EINVAL)",
                 EINVAL);
      return;
    }
    prog.insert(prog.end(), user.begin(), user.end());

    // socket: protocol 0 receives nothing until bind(), so no packet arrives before the filter
    fd_ = socket(AF_PACKET, sockType | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      int e = errno;
      ThrowError(env,
                 std::string("afPacketOpen: socket(AF_PACKET) failed: ") + ErrnoText(e) +
                     (e == EPERM ? ": capturing needs root or CAP_NET_RAW" : ""),
                 e);
      return;
    }
    struct sock_fprog fprog = {(unsigned short)prog.size(), prog.data()};
    if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0) {
      FailErrno(env, "setsockopt(SO_ATTACH_FILTER)");
      return;
    }
    int ver = TPACKET_V3;
    if (setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) != 0) {
      FailErrno(env, "setsockopt(PACKET_VERSION, TPACKET_V3)");
      return;
    }
    std::memset(&req_, 0, sizeof req_);
    req_.tp_block_size = blockSize;
    req_.tp_block_nr = blockCount;
    req_.tp_frame_size = 2048;
    req_.tp_frame_nr = (blockSize / 2048) * blockCount;
    req_.tp_retire_blk_tov = pollMs;
    req_.tp_sizeof_priv = 0;
    req_.tp_feature_req_word = 0;
    if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req_, sizeof req_) != 0) {
      FailErrno(env, "setsockopt(PACKET_RX_RING)");
      return;
    }
    ringSize_ = (size_t)blockSize * blockCount;
    ring_ = (uint8_t *)mmap(nullptr, ringSize_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (ring_ == MAP_FAILED) {
      ring_ = nullptr;
      FailErrno(env, "mmap(ring)");
      return;
    }
    struct sockaddr_ll sll;
    std::memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex_;
    if (bind(fd_, (struct sockaddr *)&sll, sizeof sll) != 0) {
      FailErrno(env, "bind(" + iface + ")");
      return;
    }
    if (!delivery_.Init(env, info[1].As<Napi::Function>(), "spanwire-af-packet", maxQueued)) {
      Cleanup();
      return;
    }
    open_ = true;
    thread_ = std::thread([this] { Run(); });
    WatchEnv(env);
    Ref();  // an open capture stays alive (like a listening server) until close()
  }

  ~AfPacketHandle() override {
    CloseNative();
    Cleanup();
  }

  void CloseNative() override {
    if (!open_) return;
    open_ = false;
    UnwatchEnv();
    delivery_.Close();  // first: no onBatch call from now on
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    CollectStats();
    Cleanup();
  }

 private:
  void FailErrno(Napi::Env env, const std::string &what) {
    int e = errno;
    ThrowError(env, "afPacketOpen: " + what + " failed: " + ErrnoText(e), e);
    Cleanup();
  }

  void Cleanup() {
    if (ring_) {
      munmap(ring_, ringSize_);
      ring_ = nullptr;
    }
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  void CollectStats() {
    if (fd_ < 0) return;
    struct tpacket_stats_v3 st;
    socklen_t len = sizeof st;
    std::memset(&st, 0, sizeof st);
    if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {  // resets the kernel's counters
      std::lock_guard<std::mutex> g(statsMu_);
      packets_ += st.tp_packets;
      drops_ += st.tp_drops;
      freezes_ += st.tp_freeze_q_cnt;
    }
  }

  // Appends the packets of one retired block to the batch.
  void CopyBlock(struct tpacket_block_desc *bd, Batch &b) {
    uint32_t n = bd->hdr.bh1.num_pkts;
    uint8_t *p = (uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
    for (uint32_t i = 0; i < n; i++) {
      struct tpacket3_hdr *h = (struct tpacket3_hdr *)p;
      struct sockaddr_ll *sll = (struct sockaddr_ll *)((uint8_t *)h + TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
      uint32_t snap = h->tp_snaplen;
      uint32_t caplen = snap + (cooked_ ? kSllHeader : 0);
      uint32_t wirelen = h->tp_len + (cooked_ ? kSllHeader : 0);
      size_t rec = Align8(kRecordHeader + caplen);
      if (b.Reserve(rec)) {
        uint8_t *r = b.data + b.len;
        std::memset(r, 0, rec);
        uint64_t ts = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec;
        uint32_t rl = (uint32_t)rec;
        uint32_t ifx = (uint32_t)sll->sll_ifindex;
        std::memcpy(r + 0, &rl, 4);
        std::memcpy(r + 4, &caplen, 4);
        std::memcpy(r + 8, &wirelen, 4);
        std::memcpy(r + 12, &ifx, 4);
        std::memcpy(r + 16, &ts, 8);
        std::memcpy(r + 24, &linkType_, 2);
        uint8_t *d = r + kRecordHeader;
        if (cooked_) {
          // Linux cooked header v1: pkttype, hatype, halen, addr[8], protocol (big-endian)
          uint16_t v = htons(sll->sll_pkttype);
          std::memcpy(d + 0, &v, 2);
          v = htons(sll->sll_hatype);
          std::memcpy(d + 2, &v, 2);
          uint16_t halen = sll->sll_halen > 8 ? 8 : sll->sll_halen;
          v = htons(halen);
          std::memcpy(d + 4, &v, 2);
          std::memcpy(d + 6, sll->sll_addr, halen);
          std::memcpy(d + 14, &sll->sll_protocol, 2);
          std::memcpy(d + kSllHeader, (uint8_t *)h + h->tp_net, snap);
        } else {
          std::memcpy(d, (uint8_t *)h + h->tp_mac, snap);
        }
        b.len += rec;
        b.records++;
      } else {
        lostNoMem_.fetch_add(1);
      }
      p += h->tp_next_offset;
    }
  }

  void Run() {
    uint32_t idx = 0;
    const uint32_t nblocks = req_.tp_block_nr;
    const size_t flushAt = (size_t)8 << 20;
    std::unique_ptr<Batch> batch(new Batch());
    struct pollfd pfd = {fd_, POLLIN | POLLERR, 0};
    while (!stop_.load()) {
      for (;;) {
        struct tpacket_block_desc *bd = (struct tpacket_block_desc *)(ring_ + (size_t)idx * req_.tp_block_size);
        if ((__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) break;
        CopyBlock(bd, *batch);
        __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);  // back to the kernel
        idx = (idx + 1) % nblocks;
        if (batch->len >= flushAt) {
          delivery_.Send(std::move(batch));
          batch.reset(new Batch());
        }
        if (stop_.load()) break;
      }
      if (batch->len > 0) {
        delivery_.Send(std::move(batch));
        batch.reset(new Batch());
      }
      if (stop_.load()) break;
      pfd.revents = 0;
      poll(&pfd, 1, pollMs_);
    }
  }

  Napi::Value Stats(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    CollectStats();
    Napi::Object o = Napi::Object::New(env);
    std::lock_guard<std::mutex> g(statsMu_);
    o.Set("packets", Napi::Number::New(env, (double)packets_));
    o.Set("drops", Napi::Number::New(env, (double)drops_));
    o.Set("freezes", Napi::Number::New(env, (double)freezes_));
    o.Set("batches", Napi::Number::New(env, (double)delivery_.batches()));
    o.Set("delivered", Napi::Number::New(env, (double)delivery_.delivered()));
    o.Set("lost", Napi::Number::New(env, (double)(delivery_.lost() + lostNoMem_.load())));
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

  Napi::Value LinkType(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), linkType_); }
  Napi::Value Ifindex(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), ifindex_); }

  int fd_ = -1;
  uint8_t *ring_ = nullptr;
  size_t ringSize_ = 0;
  struct tpacket_req3 req_;
  int ifindex_ = 0;
  int loIndex_ = 0;
  bool cooked_ = false;
  uint16_t linkType_ = kLinkEthernet;
  int pollMs_ = 10;
  bool open_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  Delivery delivery_;
  std::mutex statsMu_;
  uint64_t packets_ = 0, drops_ = 0, freezes_ = 0;
  std::atomic<uint64_t> lostNoMem_{0};
};

Napi::Value AfPacketOpen(const Napi::CallbackInfo &info) {
  AddonData *d = info.Env().GetInstanceData<AddonData>();
  std::vector<napi_value> args;
  for (size_t i = 0; i < info.Length(); i++) args.push_back(info[i]);
  return d->afPacketCtor.New(args);
}

}  // namespace

Napi::Object InitAfPacket(Napi::Env env, Napi::Object exports, AddonData *data) {
  Napi::Function ctor = AfPacketHandle::Define(env);
  data->afPacketCtor = Napi::Persistent(ctor);
  exports.Set("afPacketOpen", Napi::Function::New(env, AfPacketOpen, "afPacketOpen"));
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("recordHeader", Napi::Number::New(env, kRecordHeader));
  layout.Set("align", Napi::Number::New(env, 8));
  layout.Set("linkTypeEthernet", Napi::Number::New(env, kLinkEthernet));
  layout.Set("linkTypeLinuxSll", Napi::Number::New(env, kLinkSll));
  Napi::Object off = Napi::Object::New(env);
  off.Set("recordLen", 0);
  off.Set("caplen", 4);
  off.Set("wirelen", 8);
  off.Set("ifindex", 12);
  off.Set("tsNs", 16);
  off.Set("linkType", 24);
  off.Set("data", 32);
  layout.Set("offsets", off);
  exports.Set("afPacketLayout", layout);
  return exports;
}

}  // namespace spanwire
