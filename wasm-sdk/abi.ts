// Entry point for `export * from "wasm-sdk/abi"`.
export * from './assembly/abi';
