;; RUN: check % --policy proxy-wasm-0.2
;; EXIT: 1
(module
  (import "env" "emscripten_memcpy" (func (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_1_0")))
