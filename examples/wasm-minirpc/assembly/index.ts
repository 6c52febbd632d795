// minirpc as a spanwire plugin: a small binary RPC protocol (see ../README.md for the frame layout).
import { Hint, Input, Parser, registerParser, PARSE_ERROR, PROBE_NEED_MORE, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE, TCP, INPUT_CAP } from "wasm-sdk";
export * from "wasm-sdk/abi";

const MAGIC: u32 = 0x4d52; // "MR"
const HEADER: i32 = 16;
const TRACEPARENT: i32 = 55;

class MiniRpc extends Parser {
  /** Body bytes still to skip per direction (a frame larger than the input window). */
  skip: StaticArray<i64> = new StaticArray<i64>(2);

  probe(input: Input, hint: Hint): i32 {
    if (input.length >= 2 && input.u16be(0) != MAGIC) return PROBE_NO;
    if (input.length < 4) return PROBE_NEED_MORE;
    const type = input.u8(3);
    if (input.u8(2) != 1) return PROBE_NO;
    return type == 2 ? PROBE_RESPONSE : type == 1 || type == 3 ? PROBE_REQUEST : PROBE_NO;
  }

  parse(toServer: bool, input: Input): i32 {
    const d = toServer ? 0 : 1;
    let p = 0;
    if (this.skip[d] > 0) {
      p = <i32>min<i64>(this.skip[d], input.length);
      this.skip[d] -= p;
    }
    while (input.has(p, HEADER)) {
      if (input.u16be(p) != MAGIC || input.u8(p + 2) != 1) return PARSE_ERROR;
      const type = input.u8(p + 3);
      const id = input.u32be(p + 4);
      const word = input.u16be(p + 8);
      const head = HEADER + (type == 2 ? 0 : <i32>word) + ((input.u8(p + 10) & 1) != 0 ? TRACEPARENT : 0);
      const size = <i64>head + <i64>input.u32be(p + 12);
      if (!input.has(p, head)) break;
      // Whole frames when they fit the window (exact end time), else emit at the head and skip the body.
      if (size <= <i64>(INPUT_CAP / 2) && !input.has(p, <i32>size)) break;
      if (type == 2) {
        const m = this.response(p, <i32>size).session(<i32>id).status(<i32>word).attr("rpc.response.status_code", word.toString());
        if (word != 0) m.error().attrBytes("minirpc.error_message", p + HEADER, min(input.length - p - HEADER, 256));
      } else {
        const m = this.request(p, <i32>size).session(<i32>id).operationBytes(p + HEADER, word)
          .attr("rpc.system.name", "minirpc").attrBytes("rpc.method", p + HEADER, word);
        if (head > HEADER + <i32>word) m.traceparentBytes(p + HEADER + word, TRACEPARENT);
        if (type == 3) m.oneWay();
      }
      const avail = <i64>(input.length - p);
      if (size > avail) {
        this.skip[d] = size - avail;
        return input.length;
      }
      p += <i32>size;
    }
    return p;
  }

  onGap(toServer: bool, length: i32): void {
    this.skip[toServer ? 0 : 1] = 0;
  }
}

registerParser<MiniRpc>("minirpc", TCP, [7070]);
