;; RUN: strip % -o out.wasm --keep name
;; EXIT: 0
;; --keep only exempts: the rest of the release profile still applies.
(module $m
  (func $f (export "_start"))
  (@custom ".debug_line" "dwarf"))
