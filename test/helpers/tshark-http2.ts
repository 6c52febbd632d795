/**
 * tshark as the HTTP/2 oracle: the header blocks and resets of every HTTP/2 stream in a capture,
 * from tshark's own dissection (`-T json`). Test infrastructure only.
 */
import { execFileSync } from 'node:child_process';

/** One header field as tshark decoded it; `name` is '<unknown>' when tshark could not decode it. */
export interface TsharkHeader {
  name: string;
  value: string;
}

/** One HTTP/2 stream of one TCP connection, as tshark sees it. */
export interface TsharkStream {
  /** tshark's tcp.stream index and the client's port (the side that sent a `:method`, or the port the first frame came from). */
  tcpStream: number;
  clientPort: number;
  serverPort: number;
  streamId: number;
  /** Header blocks sent by the client (request headers, then trailers) and by the server (response headers, trailers). */
  clientBlocks: TsharkHeader[][];
  serverBlocks: TsharkHeader[][];
  /** RST_STREAM error codes on this stream, in order. */
  rstCodes: number[];
  /** Frame number of the first frame of the stream. */
  firstFrame: number;
}

type Json = Record<string, unknown>;

function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * Every HTTP/2 stream tshark finds. `decodeAs` lists ports to decode as HTTP/2 (`-d tcp.port==N,http2`).
 * The client side of a connection is the one whose HEADERS carry `:method` (else the lower stream's
 * first sender).
 */
export function tsharkHttp2Streams(file: string, decodeAs: number[] = []): TsharkStream[] {
  const args = ['-r', file];
  for (const p of decodeAs) args.push('-d', `tcp.port==${p},http2`);
  args.push('-Y', 'http2', '-T', 'json', '--no-duplicate-keys', '-J', 'frame tcp http2');
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 << 20 });
  const packets = JSON.parse(out) as { _source: { layers: Json } }[];
  const streams = new Map<string, TsharkStream>();
  /** Header blocks per stream key, with the frame's source port and type, in capture order. */
  const blocks = new Map<string, { src: number; type: number; block: TsharkHeader[] }[]>();
  const clientPortOf = new Map<number, number>();
  for (const pk of packets) {
    const l = pk._source.layers;
    const frame = Number((l.frame as Json)['frame.number']);
    const tcp = l.tcp as Json;
    const tcpStream = Number(tcp['tcp.stream']);
    const src = Number(tcp['tcp.srcport']);
    const dst = Number(tcp['tcp.dstport']);
    for (const h2 of asArray(l.http2 as Json | Json[])) {
      for (const f of asArray(h2['http2.stream'] as Json | Json[])) {
        const type = Number(f['http2.type']);
        const sid = Number(f['http2.streamid']);
        if (!Number.isFinite(type) || sid === 0) continue;
        const key = `${tcpStream}/${sid}`;
        let st = streams.get(key);
        if (!st) {
          st = { tcpStream, clientPort: src, serverPort: dst, streamId: sid, clientBlocks: [], serverBlocks: [], rstCodes: [], firstFrame: frame };
          streams.set(key, st);
          blocks.set(key, []);
        }
        if (type === 3) st.rstCodes.push(Number(f['http2.rst_stream.error']));
        const hs = asArray(f['http2.header'] as Json | Json[]);
        if (hs.length > 0 && (type === 1 || type === 9 || type === 5)) {
          const block = hs.map((h) => ({ name: String(h['http2.header.name'] ?? '<unknown>'), value: String(h['http2.header.value'] ?? '') }));
          if (block.some((h) => h.name === ':method')) clientPortOf.set(tcpStream, type === 5 ? dst : src);
          blocks.get(key)!.push({ src, type, block });
        }
      }
    }
  }
  const result: TsharkStream[] = [];
  for (const [key, st] of streams) {
    const client = clientPortOf.get(st.tcpStream) ?? st.clientPort;
    if (client !== st.clientPort) [st.clientPort, st.serverPort] = [st.serverPort, st.clientPort];
    for (const { src, type, block } of blocks.get(key)!) {
      // PUSH_PROMISE carries the pushed stream's request, sent by the server.
      if (type === 5 || src === client) st.clientBlocks.push(block);
      else st.serverBlocks.push(block);
    }
    result.push(st);
  }
  result.sort((a, b) => a.tcpStream - b.tcpStream || a.streamId - b.streamId);
  return result;
}

/** The first value of `name` in a block, or undefined (also when the block has unknown fields that might hide it). */
export function headerValue(block: TsharkHeader[] | undefined, name: string): string | undefined {
  return block?.find((h) => h.name === name)?.value;
}

/** True when tshark could not decode some field of the block (dynamic-table entry not known). */
export function hasUnknown(block: TsharkHeader[] | undefined): boolean {
  return block?.some((h) => h.name === '<unknown>') ?? false;
}
