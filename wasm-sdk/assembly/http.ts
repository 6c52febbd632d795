// HTTP hooks: the host writes an HTTP message into the input window as [head][body]: the head as
// on the wire (start line, header lines, CRLF CRLF), then the body (after transfer decoding, possibly
// truncated). These finders set `value` to the range found; nothing allocates.
import { input, Input, Slice } from './input';

@inline function isSpace(c: u32): bool {
  return c == 0x20 || c == 0x09;
}

export class HttpMessage {
  /** True for a request, false for a response. */
  isRequest: bool = true;
  /** Head bytes: [0, headLength). Body bytes: [headLength, headLength + bodyLength). */
  headLength: i32 = 0;
  bodyLength: i32 = 0;
  /** The range found by the last finder. */
  readonly value: Slice = new Slice();
  /** The whole window (head and body), for the Input readers. */
  readonly input: Input = input;

  get bodyStart(): i32 {
    return this.headLength;
  }

  /** Request method (first word of the start line). */
  method(): bool {
    if (!this.isRequest) return false;
    return this.word(0);
  }
  /** Request target (second word: path and query). */
  target(): bool {
    if (!this.isRequest) return false;
    const sp = input.indexOf(0x20, 0);
    return sp >= 0 && sp < this.headLength && this.word(sp + 1);
  }
  /** Response status code (0 when not a response). */
  statusCode(): i32 {
    if (this.isRequest) return 0;
    const sp = input.indexOf(0x20, 0);
    if (sp < 0 || sp + 4 > this.headLength) return 0;
    return <i32>input.decimal(sp + 1, 3);
  }

  private word(at: i32): bool {
    let e = at;
    while (e < this.headLength) {
      const c = input.u8(e);
      if (c == 0x20 || c == 0x0d || c == 0x0a) break;
      e++;
    }
    if (e == at) return false;
    this.value.start = at;
    this.value.length = e - at;
    return true;
  }

  /**
   * The value of header `name` (case-insensitive, first occurrence, surrounding blanks trimmed).
   * Returns false when absent.
   */
  header(name: string): bool {
    const n = name.length;
    let line = input.indexOf(0x0a, 0) + 1; // skip the start line
    while (line > 0 && line < this.headLength) {
      const eol = input.indexOf(0x0a, line);
      const end = eol < 0 || eol > this.headLength ? this.headLength : eol;
      if (input.equalsNoCase(line, name) && input.u8(line + n) == 0x3a) {
        let s = line + n + 1;
        let e = end;
        if (e > s && input.u8(e - 1) == 0x0d) e--;
        while (s < e && isSpace(input.u8(s))) s++;
        while (e > s && isSpace(input.u8(e - 1))) e--;
        this.value.start = s;
        this.value.length = e - s;
        return true;
      }
      if (eol < 0) break;
      line = eol + 1;
    }
    return false;
  }

  /**
   * The first `"key": value` in the body (a JSON object at any depth): `value` is the string's
   * contents without the quotes (escapes left as they are), or the number / true / false / null
   * literal. Returns false when the key is absent, or its value is an object or an array.
   */
  jsonField(key: string): bool {
    const bodyEnd = this.headLength + this.bodyLength;
    let at = this.headLength;
    while (at < bodyEnd) {
      const q = input.find(key, at);
      if (q < 0 || q + key.length >= bodyEnd) return false;
      at = q + 1;
      if (input.u8(q - 1) != 0x22 || input.u8(q + key.length) != 0x22) continue;
      let p = q + key.length + 1;
      while (p < bodyEnd && (isSpace(input.u8(p)) || input.u8(p) == 0x0d || input.u8(p) == 0x0a)) p++;
      if (input.u8(p) != 0x3a) continue;
      p++;
      while (p < bodyEnd && (isSpace(input.u8(p)) || input.u8(p) == 0x0d || input.u8(p) == 0x0a)) p++;
      if (p >= bodyEnd) return false;
      const c = input.u8(p);
      if (c == 0x22) {
        let e = p + 1;
        while (e < bodyEnd) {
          const d = input.u8(e);
          if (d == 0x5c) e += 2;
          else if (d == 0x22) break;
          else e++;
        }
        if (e >= bodyEnd) return false;
        this.value.start = p + 1;
        this.value.length = e - p - 1;
        return true;
      }
      if (c == 0x7b || c == 0x5b) return false;
      let e = p;
      while (e < bodyEnd) {
        const d = input.u8(e);
        if (d == 0x2c || d == 0x7d || d == 0x5d || isSpace(d) || d == 0x0d || d == 0x0a) break;
        e++;
      }
      this.value.start = p;
      this.value.length = e - p;
      return true;
    }
    return false;
  }
}

export const http = new HttpMessage();
