// spanwire Wasm parser SDK (AssemblyScript), ABI version 1. See README.md and ABI.md.
export { Parser, Hint, registerParser, registerHttpHooks } from './assembly/parser';
export { Input, Slice, input } from './assembly/input';
export { Message } from './assembly/message';
export { HttpMessage } from './assembly/http';
export {
  ABI_VERSION, PROBE_NO, PROBE_REQUEST, PROBE_RESPONSE, PROBE_MATCH, PROBE_NEED_MORE, PARSE_ERROR, TCP, UDP,
  SESSION_FIFO, KIND_SERVER, KIND_CLIENT, KIND_PRODUCER, KIND_CONSUMER, STATUS_OK, STATUS_ERROR, INPUT_CAP,
} from './assembly/layout';
