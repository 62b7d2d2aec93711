// Command js is the hello fixture, built with GOOS=js GOARCH=wasm.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("hello from wasipack")
	for _, a := range os.Args[1:] {
		fmt.Println(a)
	}
}
