;; RUN: check %
;; EXIT: 2
(component
  (import "wasi:cli/environment@0.2.0" (instance)))
