// Command reactor is a WASI reactor (-buildmode=c-shared, Go 1.24+).
package main

import "fmt"

func main() {}

//go:wasmexport add
func add(a, b int32) int32 {
	return a + b
}

//go:wasmexport greet
func greet() {
	fmt.Println("hello from wasipack reactor")
}
