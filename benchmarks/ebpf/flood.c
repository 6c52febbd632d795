/* Event generator for benchmarks/ebpf/events.mjs: `flood PORT COUNT SIZE RATE [BATCH]` sends COUNT UDP datagrams
 * of SIZE bytes to 127.0.0.1:PORT (a socket of its own bound there, never read: the kernel drops what does not
 * fit its buffer), paced at RATE datagrams/s (0 = as fast as possible), then prints {"sent":N,"ns":elapsed}.
 * BATCH 1 (default): one sendto() per datagram; BATCH 2..8: sendmmsg() of BATCH datagrams. Each datagram is one
 * DATA event for spanwire's BPF programs (which report up to 8 messages per sendmmsg). The payload bytes are all
 * 'a' + PORT % 26. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: flood PORT COUNT SIZE RATE\n");
    return 2;
  }
  int port = atoi(argv[1]);
  long long count = atoll(argv[2]);
  int size = atoi(argv[3]);
  double rate = atof(argv[4]);
  int batch = argc > 5 ? atoi(argv[5]) : 1;
  if (batch < 1) batch = 1;
  if (batch > 8) batch = 8;
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int sink = socket(AF_INET, SOCK_DGRAM, 0);
  if (bind(sink, (struct sockaddr *)&dst, sizeof dst) < 0) {
    perror("bind");
    return 1;
  }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  char *buf = calloc(1, size > 0 ? size : 1);
  memset(buf, 'a' + port % 26, size); /* events.mjs checks every payload against its port */
  long long t0 = now_ns(), sent = 0;
  while (sent < count) {
    if (rate > 0) {
      long long due = (long long)((now_ns() - t0) * rate / 1e9) + 1;
      if (sent >= due) continue; /* busy-wait pacing: accurate at 100k+/s */
    }
    if (batch == 1) {
      if (sendto(s, buf, size, 0, (struct sockaddr *)&dst, sizeof dst) == size) sent++;
    } else {
      struct iovec iov = {buf, (size_t)size};
      struct mmsghdr mm[8];
      int n = count - sent < batch ? (int)(count - sent) : batch;
      memset(mm, 0, sizeof mm);
      for (int i = 0; i < n; i++) {
        mm[i].msg_hdr.msg_name = &dst;
        mm[i].msg_hdr.msg_namelen = sizeof dst;
        mm[i].msg_hdr.msg_iov = &iov;
        mm[i].msg_hdr.msg_iovlen = 1;
      }
      int k = sendmmsg(s, mm, n, 0);
      if (k > 0) sent += k;
    }
  }
  long long ns = now_ns() - t0;
  printf("{\"sent\":%lld,\"ns\":%lld}\n", sent, ns);
  return 0;
}
