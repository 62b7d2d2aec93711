// Command hello is the minimal wasip1 fixture.
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
