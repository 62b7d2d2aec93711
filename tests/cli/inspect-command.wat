;; RUN: inspect %
;; EXIT: 0
;; Go declares fd_write twice; inspect folds the duplicate and counts it.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
  (memory (export "memory") 2 10)
  (func (export "_start") (drop (i32.extend8_s (i32.const 1))))
  (@custom "producers" "\01\08language\01\02Go\08go1.26.8"))
