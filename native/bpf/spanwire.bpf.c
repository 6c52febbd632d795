// SPDX-License-Identifier: GPL-2.0
/* spanwire's BPF programs: socket syscall capture on tp_btf sys_enter/sys_exit and OpenSSL uprobes.
 * Mechanism only: they copy what crossed a TCP/UDP socket (or SSL_read/SSL_write) with its identity
 * (pid, tid, comm, fd, socket, 4-tuple, TCP sequence number) into a ring buffer; every interpretation is done in
 * TypeScript. Layout of the records: events.h. Built with:
 *   clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I native/build -I native/bpf -c spanwire.bpf.c
 * (native/build/vmlinux.h comes from `bpftool btf dump file /sys/kernel/btf/vmlinux format c`). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

/* Kernel pointers read as plain numbers (a `void *` field, a pointer loaded with bpf_probe_read_kernel) are
 * turned back into typed BTF pointers, so that the fields behind them are read with direct (fault-tolerant)
 * loads instead of one bpf_probe_read_kernel call each: the syscall hooks run for every read/write of the host. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define SW_CAST(ptr, type) ((type *)bpf_rdonly_cast((void *)(ptr), bpf_core_type_id_kernel(type)))

/* x86_64 syscall numbers */
#define SW_NR_read 0
#define SW_NR_write 1
#define SW_NR_close 3
#define SW_NR_readv 19
#define SW_NR_writev 20
#define SW_NR_connect 42
#define SW_NR_accept 43
#define SW_NR_sendto 44
#define SW_NR_recvfrom 45
#define SW_NR_sendmsg 46
#define SW_NR_recvmsg 47
#define SW_NR_accept4 288
#define SW_NR_recvmmsg 299
#define SW_NR_sendmmsg 307

#define SW_AF_INET 2
#define SW_AF_INET6 10
#define SW_S_IFMT 00170000
#define SW_S_IFSOCK 0140000
#define SW_SOCK_STREAM 1
#define SW_SOCK_DGRAM 2
#define SW_IPPROTO_TCP 6
#define SW_IPPROTO_UDP 17
#define SW_EINPROGRESS 115
#define SW_MSG_PEEK 2

#define SW_MAX_IOV 16  /* iovecs gathered per message */
#define SW_MAX_MMSG 8  /* messages reported per sendmmsg/recvmmsg */
#define SW_SCRATCH (SW_EVENT_HEADER + 2 * SW_MAX_PAYLOAD)

/* user-space ABI structs (fixed x86_64 layout, not CO-RE relocated) */
struct sw_iovec {
	__u64 base;
	__u64 len;
};
struct sw_msghdr {
	__u64 name;
	__u32 namelen;
	__u32 pad0;
	__u64 iov;
	__u64 iovlen;
	__u64 control;
	__u64 controllen;
	__u32 flags;
	__u32 pad1;
};
struct sw_mmsghdr {
	struct sw_msghdr hdr;
	__u32 len;
	__u32 pad;
};
struct sw_sockaddr {
	__u16 family;
	__u16 port; /* network order */
	__u32 v4;   /* sockaddr_in: address; sockaddr_in6: flowinfo */
	__u8 v6[16];
};

/* syscall arguments saved at sys_enter, per thread */
struct sw_args {
	__u64 ts;
	__u64 sk;
	__u64 a1, a2, a4; /* rsi, rdx, r8 */
	__u32 nr;
	__u32 fd;
	__u32 seq;
	__u16 family;
	__u8 udp;
	__u8 live;
	/* close only: the 4-tuple read before the socket goes away */
	__u16 sport, dport;
	__u8 saddr[16], daddr[16];
};

struct sw_ssl_args {
	__u64 ts;
	__u64 ssl;
	__u64 buf;
	__u64 len_ptr; /* SSL_*_ex: size_t *readbytes / *written; 0 for SSL_read/SSL_write */
	__u32 dir;
	__u32 live;
};

struct sw_last_sock {
	__u64 sk;
	__u32 fd;
	__u16 family;
	__u8 udp;
	__u8 pad;
};

struct sw_scratch {
	__u8 buf[SW_SCRATCH];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sw_config);
} sw_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the loader (ringBytes) */
} sw_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sw_counters SEC(".maps");

/* Per-thread state (task local storage: no hash lookups, freed with the thread): the syscall arguments saved
 * at sys_enter (the "per-tid map" of the design), the SSL_* arguments saved at the uprobe, and the socket of the
 * thread's most recent data syscall (the fd of SSL_DATA events). */
struct sw_task {
	struct sw_args args;    /* valid when args.nr == the exiting syscall and args.live */
	struct sw_ssl_args ssl; /* valid when ssl.live */
	struct sw_last_sock last;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sw_task);
} sw_tasks SEC(".maps");

/* SSL* -> the socket its SSL_read last came through. SSL_read follows the read of its ciphertext (inside it with a
 * socket BIO; just before it with Node's memory BIOs), so it names the right socket; SSL_write in Node runs before
 * the write of its ciphertext, when the thread's last socket may be another connection's: SSL_write uses this map
 * when it knows the SSL*, else the thread's last socket. SSL_free forgets the SSL*. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sw_last_sock);
} sw_ssl_socks SEC(".maps");

/* Event assembly areas, one per CPU (max_entries set to the number of possible CPUs by the loader; a plain
 * array because a per-CPU value is limited to 32 KiB). Only sw_sys_exit uses it, and the kernel never lets two
 * runs of one tp_btf program overlap on a CPU (recursion protection: such a run is skipped and counted). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct sw_scratch);
} sw_scratch_sys SEC(".maps");



static __always_inline void sw_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&sw_counters, &idx);
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline int sw_pid_ok(struct sw_config *cfg, __u32 pid)
{
	if (pid == cfg->exclude_pid)
		return 0;
	__u32 n = cfg->n_pids;
	if (n == 0)
		return 1;
	for (int i = 0; i < SW_MAX_FILTER; i++) {
		if (i >= n)
			break;
		if (cfg->pids[i] == pid)
			return 1;
	}
	return 0;
}

static __always_inline int sw_port_ok(struct sw_config *cfg, __u16 sport, __u16 dport)
{
	__u32 n = cfg->n_ports;
	if (n == 0)
		return 1;
	for (int i = 0; i < SW_MAX_FILTER; i++) {
		if (i >= n)
			break;
		if (cfg->ports[i] == sport || cfg->ports[i] == dport)
			return 1;
	}
	return 0;
}

/* fd of the current task -> struct sock of a TCP/UDP IPv4/IPv6 socket, else NULL.
 * task->files->fdt->fd[fd] -> file; S_ISSOCK(file->f_inode->i_mode); file->private_data -> socket -> sk. */
static __always_inline struct sock *sw_fd_sock(__u32 fd, __u16 *family, __u8 *udp)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	if (!fdt || fd >= fdt->max_fds)
		return 0;
	struct file **fds = fdt->fd;
	struct file *fp = 0;
	bpf_probe_read_kernel(&fp, sizeof(fp), &fds[fd]);
	if (!fp)
		return 0;
	struct file *f = SW_CAST(fp, struct file);
	if ((f->f_inode->i_mode & SW_S_IFMT) != SW_S_IFSOCK)
		return 0;
	struct socket *sock = SW_CAST(f->private_data, struct socket);
	struct sock *sk = sock->sk;
	if (!sk)
		return 0;
	__u16 fam = sk->__sk_common.skc_family;
	if (fam != SW_AF_INET && fam != SW_AF_INET6)
		return 0;
	__u16 type = sk->sk_type;
	__u16 proto = sk->sk_protocol;
	if (type == SW_SOCK_STREAM && proto == SW_IPPROTO_TCP)
		*udp = 0;
	else if (type == SW_SOCK_DGRAM && proto == SW_IPPROTO_UDP)
		*udp = 1;
	else
		return 0;
	*family = fam;
	return sk;
}

/* The socket's 4-tuple (local, remote); ports in host order, addresses in network order. */
static __always_inline void sw_read_tuple(__u64 skp, __u16 family, __u16 *sport, __u16 *dport, __u8 *saddr,
					  __u8 *daddr)
{
	struct sock *sk = SW_CAST(skp, struct sock);
	__u16 num = sk->__sk_common.skc_num;
	if (num == 0) /* a TCP socket already in TCP_CLOSE (e.g. TIME_WAIT took over) lost inet_num, not inet_sport */
		num = bpf_ntohs(SW_CAST(skp, struct inet_sock)->inet_sport);
	*sport = num;
	*dport = bpf_ntohs(sk->__sk_common.skc_dport);
	__u32 *s32 = (__u32 *)saddr, *d32 = (__u32 *)daddr;
	if (family == SW_AF_INET6) {
		for (int i = 0; i < 4; i++) {
			s32[i] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[i];
			d32[i] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[i];
		}
	} else {
		s32[0] = sk->__sk_common.skc_rcv_saddr;
		d32[0] = sk->__sk_common.skc_daddr;
	}
}

static __always_inline __u32 sw_tcp_seq(struct sock *sk, int egress)
{
	struct tcp_sock *tp = SW_CAST(sk, struct tcp_sock);
	return egress ? tp->write_seq : tp->copied_seq;
}

static __always_inline struct sw_event *sw_scratch_event(void *map)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct sw_scratch *s = bpf_map_lookup_elem(map, &cpu);
	if (!s)
		return 0;
	struct sw_event *e = (struct sw_event *)s->buf;
	__builtin_memset(s->buf, 0, SW_EVENT_HEADER);
	return e;
}

/* Fills the header fields common to every event; the 4-tuple comes from sk. */
static __always_inline void sw_fill(struct sw_event *e, __u64 ts, __u32 fd, __u16 kind, __u16 dir, __u32 nr,
				    struct sock *sk, __u16 family, __u8 udp)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	e->ts_enter_ns = ts;
	e->ts_exit_ns = bpf_ktime_get_ns();
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->fd = fd;
	e->kind = kind;
	e->direction = dir;
	e->syscall = nr;
	e->sock_id = (__u64)sk;
	__u32 flags = 0;
	if (family == SW_AF_INET6)
		flags |= SW_FLAG_IPV6;
	if (udp)
		flags |= SW_FLAG_UDP;
	e->flags = flags;
	/* task->comm read directly (two loads) rather than through bpf_get_current_comm() */
	struct task_struct *task = bpf_get_current_task_btf();
	__builtin_memcpy(e->comm, task->comm, sizeof(e->comm));
	if (sk) {
		__u16 sport = 0, dport = 0;
		sw_read_tuple((__u64)sk, family, &sport, &dport, e->saddr, e->daddr);
		e->sport = sport;
		e->dport = dport;
	}
}

/* Unconnected UDP: the peer from a user sockaddr (sendto/recvfrom address, msghdr.msg_name). */
static __always_inline void sw_peer_from_sockaddr(struct sw_event *e, __u64 uaddr)
{
	if (!uaddr || e->dport != 0)
		return;
	struct sw_sockaddr sa = {};
	if (bpf_probe_read_user(&sa, sizeof(sa), (void *)uaddr))
		return;
	if (sa.family == SW_AF_INET) {
		__builtin_memset(e->daddr, 0, 16);
		__builtin_memcpy(e->daddr, &sa.v4, 4);
		e->dport = bpf_ntohs(sa.port);
		/* an IPv6 socket sending to an IPv4 sockaddr cannot happen; keep the socket's family flag */
	} else if (sa.family == SW_AF_INET6) {
		__builtin_memcpy(e->daddr, sa.v6, 16);
		e->dport = bpf_ntohs(sa.port);
	} else {
		return;
	}
	e->flags |= SW_FLAG_PEER_ADDR;
}

/* Copies up to cap bytes from an iovec array into the payload area; returns the bytes copied. */
static __always_inline __u32 sw_copy_iov(struct sw_event *e, __u64 iovp, __u64 iovcnt, __u32 cap)
{
	__u32 off = 0;
	for (int i = 0; i < SW_MAX_IOV; i++) {
		if (i >= iovcnt || off >= cap)
			break;
		struct sw_iovec iov = {};
		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(iovp + i * sizeof(struct sw_iovec))))
			break;
		__u64 n = iov.len;
		if (n > cap - off)
			n = cap - off;
		if (n > SW_MAX_PAYLOAD)
			n = SW_MAX_PAYLOAD;
		__u32 o = off & (SW_MAX_PAYLOAD - 1);
		if (n && bpf_probe_read_user(e->payload + o, n, (void *)iov.base))
			break;
		off += n;
	}
	return off;
}

static __always_inline __u32 sw_max_payload(struct sw_config *cfg)
{
	__u32 m = cfg->max_payload;
	if (m > SW_MAX_PAYLOAD)
		m = SW_MAX_PAYLOAD;
	return m;
}

/* Submits e with captured bytes of payload. */
static __always_inline void sw_submit(struct sw_event *e, __u32 captured, __u32 total)
{
	if (captured > SW_MAX_PAYLOAD)
		captured = SW_MAX_PAYLOAD;
	/* for the verifier, which loses the bound above (clang reorders): an AND clang cannot drop */
	__u64 size = captured;
	asm volatile("%[s] &= 0x7fff" : [s] "+r"(size));
	e->total_len = total;
	e->captured_len = captured;
	if (captured < total) {
		e->flags |= SW_FLAG_TRUNCATED;
		sw_count(SW_CNT_TRUNCATED);
	}
	if (bpf_ringbuf_output(&sw_events, e, SW_EVENT_HEADER + size, BPF_RB_NO_WAKEUP))
		sw_count(SW_CNT_DROPS);
	else
		sw_count(SW_CNT_EVENTS);
}

static __always_inline int sw_is_egress(__u32 nr)
{
	return nr == SW_NR_write || nr == SW_NR_writev || nr == SW_NR_sendto || nr == SW_NR_sendmsg ||
	       nr == SW_NR_sendmmsg;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sw_sys_enter, struct pt_regs *regs, long id)
{
	switch (id) {
	case SW_NR_read:
	case SW_NR_write:
	case SW_NR_close:
	case SW_NR_readv:
	case SW_NR_writev:
	case SW_NR_connect:
	case SW_NR_accept:
	case SW_NR_sendto:
	case SW_NR_recvfrom:
	case SW_NR_sendmsg:
	case SW_NR_recvmsg:
	case SW_NR_accept4:
	case SW_NR_recvmmsg:
	case SW_NR_sendmmsg:
		break;
	default:
		return 0;
	}
	__u32 zero = 0;
	struct sw_config *cfg = bpf_map_lookup_elem(&sw_config, &zero);
	if (!cfg)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!sw_pid_ok(cfg, pid_tgid >> 32))
		return 0;
	__u32 fd = (__u32)regs->di;
	/* MSG_PEEK reads leave the bytes in the socket: the read that consumes them is the event */
	if (((id == SW_NR_recvfrom || id == SW_NR_recvmmsg) && (regs->r10 & SW_MSG_PEEK)) ||
	    (id == SW_NR_recvmsg && (regs->dx & SW_MSG_PEEK)))
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	__u16 family = 0;
	__u8 udp = 0;
	struct sock *sk = 0;
	if (id != SW_NR_accept && id != SW_NR_accept4) { /* accept: the new socket is the return value */
		sk = sw_fd_sock(fd, &family, &udp);
		if (!sk) {
			if (id != SW_NR_close && id != SW_NR_connect)
				sw_count(SW_CNT_SKIPPED);
			return 0;
		}
	}
	struct sw_task *t = bpf_task_storage_get(&sw_tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t)
		return 0;
	struct sw_args *a = &t->args;
	a->ts = bpf_ktime_get_ns();
	a->nr = id;
	a->fd = fd;
	a->a1 = regs->si;
	a->a2 = regs->dx;
	a->a4 = regs->r8;
	a->sk = (__u64)sk;
	a->family = family;
	a->udp = udp;
	a->seq = 0;
	if (sk && !udp && id != SW_NR_close && id != SW_NR_connect)
		a->seq = sw_tcp_seq(sk, sw_is_egress(id));
	if (id == SW_NR_close)
		sw_read_tuple((__u64)sk, family, &a->sport, &a->dport, a->saddr, a->daddr);
	a->live = 1;
	return 0;
}

/* One DATA event for one buffer (read/write/sendto/recvfrom), one msghdr (sendmsg/recvmsg) or one mmsghdr. */
struct sw_data_req {
	__u64 len, buf, buflen, iov, iovcnt, uaddr;
	__u32 seq;
	__u32 pad;
};

/* A global function: the verifier checks it once, not once per call site (sendmmsg/recvmmsg call it in a loop). */
__noinline int sw_emit_data(struct sw_args *a, struct sw_data_req *r)
{
	if (!a || !r)
		return 0;
	__u64 len = r->len, buf = r->buf, buflen = r->buflen, iov = r->iov, iovcnt = r->iovcnt, uaddr = r->uaddr;
	__u32 seq = r->seq;
	__u32 zero = 0;
	struct sw_config *cfg = bpf_map_lookup_elem(&sw_config, &zero);
	if (!cfg)
		return 0;
	struct sw_event *e = sw_scratch_event(&sw_scratch_sys);
	if (!e)
		return 0;
	__u32 egress = sw_is_egress(a->nr);
	sw_fill(e, a->ts, a->fd, SW_KIND_DATA, egress ? SW_DIR_EGRESS : SW_DIR_INGRESS, a->nr, (struct sock *)a->sk,
		a->family, a->udp);
	e->tcp_seq = seq;
	if (a->udp)
		sw_peer_from_sockaddr(e, uaddr);
	if (!sw_port_ok(cfg, e->sport, e->dport)) {
		sw_count(SW_CNT_FILTERED);
		return 0;
	}
	__u32 max = sw_max_payload(cfg);
	__u32 cap = len < max ? (__u32)len : max;
	__u32 captured = 0;
	if (buf) {
		if (cap > buflen) /* recvfrom(MSG_TRUNC) returns the datagram's length, which may exceed the buffer */
			cap = buflen;
		if (cap > SW_MAX_PAYLOAD)
			cap = SW_MAX_PAYLOAD;
		if (cap && bpf_probe_read_user(e->payload, cap, (void *)buf) == 0)
			captured = cap;
	} else if (iov) {
		captured = sw_copy_iov(e, iov, iovcnt, cap);
	}
	sw_submit(e, captured, len > 0xffffffffULL ? 0xffffffff : (__u32)len);
	return 0;
}

static __always_inline void sw_note_last_sock(struct sw_task *t, struct sw_args *a)
{
	if (t->last.sk == a->sk && t->last.fd == a->fd)
		return;
	t->last.sk = a->sk;
	t->last.fd = a->fd;
	t->last.family = a->family;
	t->last.udp = a->udp;
}

static __always_inline void sw_emit_lifecycle(struct sw_args *a, __u16 kind, __u32 fd, struct sock *sk,
					      __u16 family, __u8 udp)
{
	__u32 zero = 0;
	struct sw_config *cfg = bpf_map_lookup_elem(&sw_config, &zero);
	if (!cfg)
		return;
	struct sw_event *e = sw_scratch_event(&sw_scratch_sys);
	if (!e)
		return;
	sw_fill(e, a->ts, fd, kind, kind == SW_KIND_ACCEPT ? SW_DIR_INGRESS : SW_DIR_EGRESS, a->nr,
		kind == SW_KIND_CLOSE ? 0 : sk, family, udp);
	if (kind == SW_KIND_CLOSE) {
		e->sock_id = (__u64)sk;
		e->sport = a->sport;
		e->dport = a->dport;
		__builtin_memcpy(e->saddr, a->saddr, 16);
		__builtin_memcpy(e->daddr, a->daddr, 16);
	}
	if (!sw_port_ok(cfg, e->sport, e->dport)) {
		sw_count(SW_CNT_FILTERED);
		return;
	}
	sw_submit(e, 0, 0);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sw_sys_exit, struct pt_regs *regs, long ret)
{
	long id = regs->orig_ax;
	switch (id) {
	case SW_NR_read:
	case SW_NR_write:
	case SW_NR_close:
	case SW_NR_readv:
	case SW_NR_writev:
	case SW_NR_connect:
	case SW_NR_accept:
	case SW_NR_sendto:
	case SW_NR_recvfrom:
	case SW_NR_sendmsg:
	case SW_NR_recvmsg:
	case SW_NR_accept4:
	case SW_NR_recvmmsg:
	case SW_NR_sendmmsg:
		break;
	default:
		return 0;
	}
	struct sw_task *t = bpf_task_storage_get(&sw_tasks, bpf_get_current_task_btf(), 0, 0);
	if (!t || !t->args.live)
		return 0;
	struct sw_args a = t->args;
	t->args.live = 0;
	if (a.nr != id)
		return 0;

	switch (id) {
	case SW_NR_read:
	case SW_NR_write:
		if (ret > 0) {
			struct sw_data_req r = {.len = ret, .buf = a.a1, .buflen = a.a2, .seq = a.seq};
			sw_note_last_sock(t, &a);
			sw_emit_data(&a, &r);
		}
		return 0;
	case SW_NR_sendto:
	case SW_NR_recvfrom:
		if (ret > 0) {
			struct sw_data_req r = {.len = ret, .buf = a.a1, .buflen = a.a2, .uaddr = a.a4, .seq = a.seq};
			sw_note_last_sock(t, &a);
			sw_emit_data(&a, &r);
		}
		return 0;
	case SW_NR_readv:
	case SW_NR_writev:
		if (ret > 0) {
			struct sw_data_req r = {.len = ret, .iov = a.a1, .iovcnt = a.a2, .seq = a.seq};
			sw_note_last_sock(t, &a);
			sw_emit_data(&a, &r);
		}
		return 0;
	case SW_NR_sendmsg:
	case SW_NR_recvmsg:
		if (ret > 0) {
			struct sw_msghdr m = {};
			if (bpf_probe_read_user(&m, sizeof(m), (void *)a.a1))
				return 0;
			struct sw_data_req r = {.len = ret, .iov = m.iov, .iovcnt = m.iovlen, .uaddr = m.name, .seq = a.seq};
			sw_note_last_sock(t, &a);
			sw_emit_data(&a, &r);
		}
		return 0;
	case SW_NR_sendmmsg:
	case SW_NR_recvmmsg: {
		if (ret <= 0)
			return 0;
		sw_note_last_sock(t, &a);
		__u32 seq = a.seq;
		for (int i = 0; i < SW_MAX_MMSG; i++) {
			if (i >= ret)
				break;
			struct sw_mmsghdr m = {};
			if (bpf_probe_read_user(&m, sizeof(m), (void *)(a.a1 + i * sizeof(struct sw_mmsghdr))))
				break;
			struct sw_data_req r = {
			    .len = m.len, .iov = m.hdr.iov, .iovcnt = m.hdr.iovlen, .uaddr = m.hdr.name, .seq = seq};
			sw_emit_data(&a, &r);
			if (!a.udp)
				seq += m.len;
		}
		return 0;
	}
	case SW_NR_connect:
		if (ret == 0 || ret == -SW_EINPROGRESS)
			sw_emit_lifecycle(&a, SW_KIND_CONNECT, a.fd, (struct sock *)a.sk, a.family, a.udp);
		return 0;
	case SW_NR_accept:
	case SW_NR_accept4: {
		if (ret < 0)
			return 0;
		__u16 family = 0;
		__u8 udp = 0;
		struct sock *sk = sw_fd_sock((__u32)ret, &family, &udp);
		if (!sk)
			return 0;
		sw_emit_lifecycle(&a, SW_KIND_ACCEPT, (__u32)ret, sk, family, udp);
		return 0;
	}
	case SW_NR_close:
		if (ret == 0)
			sw_emit_lifecycle(&a, SW_KIND_CLOSE, a.fd, (struct sock *)a.sk, a.family, a.udp);
		return 0;
	}
	return 0;
}

/* ---- OpenSSL: SSL_write/SSL_read(ssl, buf, num) and SSL_write_ex/SSL_read_ex(ssl, buf, num, size_t *n) ---- */

static __always_inline int sw_ssl_enter(__u64 ssl, __u64 buf, __u64 len_ptr, __u32 dir)
{
	__u32 zero = 0;
	struct sw_config *cfg = bpf_map_lookup_elem(&sw_config, &zero);
	if (!cfg)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!sw_pid_ok(cfg, pid_tgid >> 32))
		return 0;
	struct sw_task *t = bpf_task_storage_get(&sw_tasks, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t)
		return 0;
	t->ssl.ts = bpf_ktime_get_ns();
	t->ssl.ssl = ssl;
	t->ssl.buf = buf;
	t->ssl.len_ptr = len_ptr;
	t->ssl.dir = dir;
	t->ssl.live = 1;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(sw_ssl_write, void *ssl, const void *buf, int num)
{
	return sw_ssl_enter((__u64)ssl, (__u64)buf, 0, SW_DIR_EGRESS);
}

SEC("uprobe")
int BPF_KPROBE(sw_ssl_write_ex, void *ssl, const void *buf, __u64 num, __u64 *written)
{
	return sw_ssl_enter((__u64)ssl, (__u64)buf, (__u64)written, SW_DIR_EGRESS);
}

SEC("uprobe")
int BPF_KPROBE(sw_ssl_read, void *ssl, void *buf, int num)
{
	return sw_ssl_enter((__u64)ssl, (__u64)buf, 0, SW_DIR_INGRESS);
}

SEC("uprobe")
int BPF_KPROBE(sw_ssl_read_ex, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	return sw_ssl_enter((__u64)ssl, (__u64)buf, (__u64)readbytes, SW_DIR_INGRESS);
}

SEC("uprobe")
int BPF_KPROBE(sw_ssl_free, void *ssl)
{
	__u64 key = (__u64)ssl;
	bpf_map_delete_elem(&sw_ssl_socks, &key);
	return 0;
}

/* Uprobe programs may be preempted and have no such recursion protection, so a per-CPU assembly area could be
 * overwritten by another task's event: an SSL event is written straight into a ring
 * buffer reservation instead. The verifier wants a constant reservation size: the smallest of four size classes
 * that holds the payload. The record's length in the ring is the class size; the addon hands JS
 * SW_EVENT_HEADER + captured_len bytes of it (never the unwritten rest). */
#define SW_SSL_CLASS(N)                                                                                       \
	if (cap <= (N)) {                                                                                     \
		struct sw_event *e = bpf_ringbuf_reserve(&sw_events, SW_EVENT_HEADER + (N), 0);               \
		if (!e) {                                                                                     \
			sw_count(SW_CNT_DROPS);                                                               \
			return;                                                                               \
		}                                                                                             \
		__builtin_memcpy(e, h, SW_EVENT_HEADER);                                                      \
		__u64 n = cap;                                                                                \
		asm volatile("" : "+r"(n)); /* keep clang from dropping the clamp the verifier needs */       \
		if (n > (N))                                                                                  \
			n = (N);                                                                              \
		__u32 c = 0;                                                                                  \
		if (n && bpf_probe_read_user(e->payload, n, (void *)buf) == 0)                                \
			c = n;                                                                                \
		e->captured_len = c;                                                                          \
		e->total_len = total;                                                                         \
		if (c < total) {                                                                              \
			e->flags |= SW_FLAG_TRUNCATED;                                                        \
			sw_count(SW_CNT_TRUNCATED);                                                           \
		}                                                                                             \
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);                                                      \
		sw_count(SW_CNT_EVENTS);                                                                      \
		return;                                                                                       \
	}

static __always_inline void sw_ssl_output(struct sw_event *h, __u32 cap, __u64 buf, __u32 total)
{
	SW_SSL_CLASS(256)
	SW_SSL_CLASS(1024)
	SW_SSL_CLASS(4096)
	SW_SSL_CLASS(SW_MAX_PAYLOAD)
}

/* one return probe for the four functions */
SEC("uretprobe")
int BPF_KRETPROBE(sw_ssl_ret, long ret)
{
	struct sw_task *t = bpf_task_storage_get(&sw_tasks, bpf_get_current_task_btf(), 0, 0);
	if (!t || !t->ssl.live)
		return 0;
	struct sw_ssl_args a = t->ssl;
	t->ssl.live = 0;
	int r = (int)ret;
	__u64 len = 0;
	if (a.len_ptr) {
		if (r != 1)
			return 0;
		if (bpf_probe_read_user(&len, sizeof(len), (void *)a.len_ptr))
			return 0;
	} else {
		if (r <= 0)
			return 0;
		len = (__u64)r;
	}
	if (len == 0)
		return 0;
	__u32 zero = 0;
	struct sw_config *cfg = bpf_map_lookup_elem(&sw_config, &zero);
	if (!cfg)
		return 0;
	struct sw_event h = {}; /* the header, assembled on the stack (see sw_ssl_output) */
	struct sw_event *e = &h;
	struct sw_last_sock l = t->last;
	if (a.dir == SW_DIR_INGRESS) {
		if (l.sk) {
			struct sw_last_sock *known = bpf_map_lookup_elem(&sw_ssl_socks, &a.ssl);
			if (!known || known->sk != l.sk || known->fd != l.fd)
				bpf_map_update_elem(&sw_ssl_socks, &a.ssl, &l, BPF_ANY);
		}
	} else {
		struct sw_last_sock *known = bpf_map_lookup_elem(&sw_ssl_socks, &a.ssl);
		if (known)
			l = *known;
	}
	if (l.sk) {
		sw_fill(e, a.ts, l.fd, SW_KIND_SSL_DATA, a.dir, SW_SYSCALL_SSL, (struct sock *)l.sk, l.family, l.udp);
	} else {
		sw_fill(e, a.ts, 0xffffffff, SW_KIND_SSL_DATA, a.dir, SW_SYSCALL_SSL, 0, 0, 0);
		e->flags |= SW_FLAG_NO_SOCK;
	}
	e->ssl_id = a.ssl;
	if (!sw_port_ok(cfg, e->sport, e->dport)) {
		sw_count(SW_CNT_FILTERED);
		return 0;
	}
	__u32 max = sw_max_payload(cfg);
	__u32 cap = len < max ? (__u32)len : max;
	sw_ssl_output(&h, cap, a.buf, len > 0xffffffffULL ? 0xffffffff : (__u32)len);
	return 0;
}
