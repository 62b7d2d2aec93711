;; RUN: check % --policy wasip2-component
;; EXIT: 0
;; Two nested core modules with one memory each: within the policy's one memory per module.
(component
  (import "wasi:cli/environment@0.2.0" (instance))
  (core module $a (memory (export "memory") 1))
  (core module $b (memory (export "memory") 1)))
