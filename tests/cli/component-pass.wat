;; RUN: check % --policy wasip2-component
;; EXIT: 0
(component
  (import "wasi:cli/environment@0.2.0" (instance))
  (import "wasi:clocks/wall-clock@0.2.0" (instance))
  (core module $m (memory (export "memory") 1)))
