;; RUN: check %
;; EXIT: 1
;; path_open declared with 8 parameters instead of 9, and fd_write with an i64: the classic
;; broken-ABI cases that trap at run time.
(module
  (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (global i32))
  (memory (export "memory") 1)
  (func (export "_start")))
