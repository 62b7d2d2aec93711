;; RUN: strip % -o out.wasm
;; EXIT: 0
(module $m
  (memory (export "memory") 1)
  (func $start (export "_start"))
  (@custom ".debug_info" "dwarf")
  (@producers (language "Go" "go1.26.8") (processed-by "Go cmd/compile" "go1.26.8")))
