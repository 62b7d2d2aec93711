;; RUN: strip % -o out.wasm --all --keep keep-* --no-stamp
;; EXIT: 0
(module
  (func (export "_start"))
  (@custom "keep-me" "1")
  (@custom "drop-me" "2")
  (@producers (language "Go" "go1.26.8")))
