// Command reactor is a WASI reactor (-buildmode=c-shared, Go 1.24+) that uses
// github.com/google/uuid from an exported function.
package main

import (
	"fmt"

	"github.com/google/uuid"
)

func main() {}

//go:wasmexport add
func add(a, b int32) int32 {
	return a + b
}

//go:wasmexport id
func id() {
	fmt.Println(uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://example.com/wasipack-dep/reactor")).String())
}
