// Command hello is the example wasipack checks in scripts/quickstart.sh.
// Build it for WASI preview1 with:
//
//	GOOS=wasip1 GOARCH=wasm go build -o hello.wasm .
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("Hello from Go on WASI!")
	for i, arg := range os.Args[1:] {
		fmt.Printf("arg %d: %s\n", i+1, arg)
	}
}
