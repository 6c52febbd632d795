/* spanwire: records shared by the BPF programs (spanwire.bpf.c) and the addon (src/ebpf.cc).
 * Mirrored in TypeScript: keep the byte offsets below in sync (they are asserted in src/ebpf.cc and exported
 * by the addon as `ebpfLayout`). Every field is little-endian, naturally aligned (no packing): the header is
 * 120 bytes, sock_id sits at 96 (after ssl_id, which takes the place of the padding), the payload starts at 120. */
#ifndef SPANWIRE_EVENTS_H
#define SPANWIRE_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SW_KIND_DATA 1
#define SW_KIND_CONNECT 2
#define SW_KIND_ACCEPT 3
#define SW_KIND_CLOSE 4
#define SW_KIND_SSL_DATA 5

#define SW_DIR_EGRESS 0  /* write / send / SSL_write */
#define SW_DIR_INGRESS 1 /* read / recv / SSL_read */

#define SW_FLAG_TRUNCATED 0x1  /* capturedLen < totalLen */
#define SW_FLAG_IPV6 0x2       /* addresses are IPv6 (possibly v4-mapped ::ffff:a.b.c.d) */
#define SW_FLAG_UDP 0x4        /* datagram socket (else TCP) */
#define SW_FLAG_PEER_ADDR 0x8  /* remote address/port taken from the syscall's sockaddr (unconnected UDP) */
#define SW_FLAG_NO_SOCK 0x10   /* SSL_DATA only: no socket syscall seen yet on this thread (fd/sockId/tuple unknown) */

#define SW_SYSCALL_SSL 0xffff

#define SW_MAX_PAYLOAD 16384 /* hard cap of maxPayload (power of two: used as a verifier mask) */
#define SW_MAX_FILTER 32     /* entries of the pid and port filters */

/* offset: field */
struct sw_event {
	__u64 ts_enter_ns;   /*   0 bpf_ktime_get_ns (CLOCK_MONOTONIC) at syscall / SSL_* entry */
	__u64 ts_exit_ns;    /*   8 same clock, at syscall exit / SSL_* return */
	__u32 pid;           /*  16 tgid */
	__u32 tid;           /*  20 */
	__u32 fd;            /*  24 */
	__u16 kind;          /*  28 SW_KIND_* */
	__u16 direction;     /*  30 SW_DIR_* */
	__u32 syscall;       /*  32 x86_64 syscall nr, SW_SYSCALL_SSL for SSL_DATA */
	__u32 flags;         /*  36 SW_FLAG_* */
	__u16 sport;         /*  40 local port, host order */
	__u16 dport;         /*  42 remote port, host order */
	__u8 saddr[16];      /*  44 local address (IPv4: first 4 bytes, network order) */
	__u8 daddr[16];      /*  60 remote address */
	__u32 tcp_seq;       /*  76 TCP: write_seq (egress) / copied_seq (ingress) before the call; 0 otherwise */
	__u32 total_len;     /*  80 true byte count (syscall / SSL return value) */
	__u32 captured_len;  /*  84 payload bytes following the header */
	__u64 ssl_id;        /*  88 SSL_DATA: the SSL* pointer (one TLS connection), else 0. The contract's `u32 pad`
	                              plus the 4 bytes a C compiler inserts anyway to align sock_id */
	__u64 sock_id;       /*  96 struct sock pointer: identifies the socket across fds and threads */
	char comm[16];       /* 104 task comm (thread name), NUL-padded */
	__u8 payload[];      /* 120 captured_len bytes */
};

#define SW_EVENT_HEADER 120

/* sw_config map (array, one entry), written by the addon before the programs are attached. */
struct sw_config {
	__u32 exclude_pid;
	__u32 max_payload;
	__u32 n_pids;  /* 0: every pid */
	__u32 n_ports; /* 0: every port */
	__u32 pids[SW_MAX_FILTER];
	__u16 ports[SW_MAX_FILTER]; /* matches the local or the remote port */
};

/* sw_counters map (per-CPU array): index -> counter */
#define SW_CNT_EVENTS 0
#define SW_CNT_DROPS 1       /* ring buffer full: event lost in the kernel */
#define SW_CNT_TRUNCATED 2
#define SW_CNT_SKIPPED 3     /* data syscalls on fds that are not TCP/UDP IPv4/IPv6 sockets */
#define SW_CNT_FILTERED 4    /* events dropped by the pid/port filters */
#define SW_CNT_MAX 8

#endif
