// The raw ABI (version 1): the functions the host calls. Re-export them from the plugin's entry file:
//   export * from "wasm-sdk/abi";
// Documented function by function in ../ABI.md.
import { INPUT, OUT } from './buffers';
import { ABI_VERSION, INPUT_CAP } from './layout';
import {
  closeSession, describe, endCall, gapCall, httpCall, openSession, parseCall, probeCall, setHint,
} from './parser';

export function spanwire_abi_version(): i32 {
  return ABI_VERSION;
}
export function spanwire_input_ptr(): usize {
  return INPUT;
}
export function spanwire_input_cap(): i32 {
  return INPUT_CAP;
}
export function spanwire_output_ptr(): usize {
  return OUT;
}
export function spanwire_describe(): i32 {
  return describe();
}
export function spanwire_probe(len: i32, port: i32, flags: i32): i32 {
  setHint(port, flags);
  return probeCall(len);
}
export function spanwire_session_open(port: i32, flags: i32): i32 {
  setHint(port, flags);
  return openSession();
}
export function spanwire_parse(handle: i32, toServer: i32, len: i32): i32 {
  return parseCall(handle, toServer, len);
}
export function spanwire_gap(handle: i32, toServer: i32, len: i32): i32 {
  return gapCall(handle, toServer, len);
}
export function spanwire_end(handle: i32, toServer: i32): i32 {
  return endCall(handle, toServer);
}
export function spanwire_session_close(handle: i32): i32 {
  return closeSession(handle);
}
export function spanwire_http_request(headLen: i32, bodyLen: i32): i32 {
  return httpCall(true, headLen, bodyLen);
}
export function spanwire_http_response(headLen: i32, bodyLen: i32): i32 {
  return httpCall(false, headLen, bodyLen);
}
