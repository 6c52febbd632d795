/**
 * MySQL client/server protocol constants and small readers (MySQL source documentation, "Client/Server
 * Protocol"; MariaDB speaks the same protocol). No state here: see session.ts.
 */

/** Capability flags ("Capabilities Flags"). */
export const CLIENT_CONNECT_WITH_DB = 0x8;
export const CLIENT_COMPRESS = 0x20;
export const CLIENT_PROTOCOL_41 = 0x200;
export const CLIENT_SSL = 0x800;
export const CLIENT_SECURE_CONNECTION = 0x8000;
export const CLIENT_PLUGIN_AUTH = 0x80000;
export const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 0x200000;
export const CLIENT_SESSION_TRACK = 0x800000;
export const CLIENT_DEPRECATE_EOF = 0x1000000;
export const CLIENT_OPTIONAL_RESULTSET_METADATA = 0x2000000;
export const CLIENT_ZSTD_COMPRESSION_ALGORITHM = 0x4000000;
export const CLIENT_QUERY_ATTRIBUTES = 0x8000000;

/** Server status flags (OK and EOF packets). */
export const SERVER_MORE_RESULTS_EXISTS = 0x8;
export const SERVER_STATUS_CURSOR_EXISTS = 0x40;
export const SERVER_SESSION_STATE_CHANGED = 0x4000;
/** Session state change type carrying the new default schema. */
export const SESSION_TRACK_SCHEMA = 1;

/** A packet payload of this length is continued by the next packet (payloads over 16 MB). */
export const MAX_PAYLOAD = 0xffffff;

/** Commands (first payload byte of a command-phase client packet). */
export const COM_QUIT = 0x01;
export const COM_INIT_DB = 0x02;
export const COM_QUERY = 0x03;
export const COM_FIELD_LIST = 0x04;
export const COM_STATISTICS = 0x09;
export const COM_CHANGE_USER = 0x11;
export const COM_BINLOG_DUMP = 0x12;
export const COM_STMT_PREPARE = 0x16;
export const COM_STMT_EXECUTE = 0x17;
export const COM_STMT_SEND_LONG_DATA = 0x18;
export const COM_STMT_CLOSE = 0x19;
export const COM_STMT_RESET = 0x1a;
export const COM_SET_OPTION = 0x1b;
export const COM_STMT_FETCH = 0x1c;
export const COM_DEBUG = 0x0d;
export const COM_BINLOG_DUMP_GTID = 0x1e;
export const COM_CLONE = 0x20;
/** MariaDB: several parameter sets in one execute. */
export const COM_STMT_BULK_EXECUTE = 0xfa;
/** Not a command byte: the login (HandshakeResponse and its authentication exchange). */
export const CMD_CONNECT = -1;
/** Not a command byte: a response whose command was not captured. */
export const CMD_UNKNOWN = -2;

/** Command names, by command byte ('' = not a command a client sends). */
export const COMMAND_NAMES: readonly string[] = (() => {
  const names: string[] = new Array<string>(256).fill('');
  const list: [number, string][] = [
    [0x01, 'COM_QUIT'],
    [0x02, 'COM_INIT_DB'],
    [0x03, 'COM_QUERY'],
    [0x04, 'COM_FIELD_LIST'],
    [0x05, 'COM_CREATE_DB'],
    [0x06, 'COM_DROP_DB'],
    [0x07, 'COM_REFRESH'],
    [0x08, 'COM_SHUTDOWN'],
    [0x09, 'COM_STATISTICS'],
    [0x0a, 'COM_PROCESS_INFO'],
    [0x0c, 'COM_PROCESS_KILL'],
    [0x0d, 'COM_DEBUG'],
    [0x0e, 'COM_PING'],
    [0x11, 'COM_CHANGE_USER'],
    [0x12, 'COM_BINLOG_DUMP'],
    [0x15, 'COM_REGISTER_SLAVE'],
    [0x16, 'COM_STMT_PREPARE'],
    [0x17, 'COM_STMT_EXECUTE'],
    [0x18, 'COM_STMT_SEND_LONG_DATA'],
    [0x19, 'COM_STMT_CLOSE'],
    [0x1a, 'COM_STMT_RESET'],
    [0x1b, 'COM_SET_OPTION'],
    [0x1c, 'COM_STMT_FETCH'],
    [0x1e, 'COM_BINLOG_DUMP_GTID'],
    [0x1f, 'COM_RESET_CONNECTION'],
    [0x20, 'COM_CLONE'],
    [0xfa, 'COM_STMT_BULK_EXECUTE'],
  ];
  for (const [b, n] of list) names[b] = n;
  return names;
})();

/** Commands the server does not answer. */
export function commandExpectsResponse(cmd: number): boolean {
  return cmd !== COM_QUIT && cmd !== COM_STMT_CLOSE && cmd !== COM_STMT_SEND_LONG_DATA && cmd !== COM_BINLOG_DUMP && cmd !== COM_BINLOG_DUMP_GTID && cmd !== COM_CLONE;
}

/** A length-encoded integer at b[p] (p < end): [value, position after] or null (NULL 0xfb, 0xff, or cut short). */
export function lenenc(b: Uint8Array, p: number, end: number): [number, number] | null {
  if (p >= end) return null;
  const f = b[p];
  if (f < 0xfb) return [f, p + 1];
  if (f === 0xfc) return p + 3 <= end ? [b[p + 1] | (b[p + 2] << 8), p + 3] : null;
  if (f === 0xfd) return p + 4 <= end ? [b[p + 1] | (b[p + 2] << 8) | (b[p + 3] << 16), p + 4] : null;
  if (f === 0xfe && p + 9 <= end) {
    let v = 0;
    for (let i = 8; i >= 1; i--) v = v * 256 + b[p + i];
    return [v, p + 9];
  }
  return null;
}

/** Position after a NUL-terminated string starting at p, or -1 when there is no NUL before `end`. */
export function cstrEnd(b: Uint8Array, p: number, end: number): number {
  for (let i = p; i < end; i++) if (b[i] === 0) return i + 1;
  return -1;
}

/**
 * Bytes of one binary-protocol value of field type `type` at b[p] ("Binary Protocol Value"), or -1
 * when unknown or cut short.
 */
export function binaryValueLength(type: number, b: Uint8Array, p: number, end: number): number {
  switch (type) {
    case 6: // NULL
      return 0;
    case 1: // TINY
    case 244: // BOOL
      return 1;
    case 2: // SHORT
    case 13: // YEAR
      return 2;
    case 3: // LONG
    case 4: // FLOAT
    case 9: // INT24
      return 4;
    case 5: // DOUBLE
    case 8: // LONGLONG
      return 8;
    case 7: // TIMESTAMP
    case 10: // DATE
    case 11: // TIME
    case 12: // DATETIME
    case 14: // NEWDATE
    case 17: // TIMESTAMP2
    case 18: // DATETIME2
    case 19: // TIME2
      return p < end ? 1 + b[p] : -1;
    default: {
      // strings, blobs, decimals, JSON, BIT, ENUM, SET, GEOMETRY, VECTOR: a length-encoded string
      if (type === 0 || (type >= 15 && type <= 16) || type >= 242) {
        const n = lenenc(b, p, end);
        return n === null ? -1 : n[1] - p + n[0];
      }
      return -1;
    }
  }
}
