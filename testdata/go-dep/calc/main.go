// Command calc is a reactor that exports the functions of its own WIT world, `calc` in
// wit/calc.wit, for `wasipack build --target wasip2 --mode reactor --wit calc/wit --world calc`.
// Each //go:wasmexport names the canonical ABI export of one WIT function; `greet` takes and
// returns a string (a pointer and a length in, a pointer to a pointer and a length out).
package main

import "unsafe"

//go:wasmexport example:calc/ops@1.0.0#add
func add(a, b uint32) uint32 { return a + b }

// The result area of greet: the canonical ABI returns a string through memory.
var greetResult [2]uint32
var greetKeep []byte

//go:wasmexport example:calc/ops@1.0.0#greet
func greet(ptr unsafe.Pointer, n uint32) unsafe.Pointer {
	name := unsafe.String((*byte)(ptr), n)
	greetKeep = []byte("hello, " + name)
	greetResult[0] = uint32(uintptr(unsafe.Pointer(&greetKeep[0])))
	greetResult[1] = uint32(len(greetKeep))
	return unsafe.Pointer(&greetResult[0])
}

//go:wasmexport version
func version() uint32 { return 7 }

func main() {}
