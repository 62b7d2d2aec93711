// Command bigheap keeps 256 MiB of live heap (by default) and checks every byte of it, so that
// a runtime or adapter that takes memory behind Go's allocator shows up as a wrong sum or a
// crash. `bigheap exit N` exits with status N instead.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "exit" {
		n, _ := strconv.Atoi(os.Args[2])
		fmt.Println("exiting with", n)
		os.Exit(n)
	}
	const chunk = 1 << 20
	mib := 256
	blocks := make([][]byte, 0, mib)
	for i := 0; i < mib; i++ {
		b := make([]byte, chunk)
		for j := range b {
			b[j] = byte(i*31 + j)
		}
		blocks = append(blocks, b)
	}
	var sum uint64
	for i, b := range blocks {
		for j, v := range b {
			if v != byte(i*31+j) {
				fmt.Println("corrupted at block", i, "byte", j)
				os.Exit(2)
			}
			sum += uint64(v)
		}
	}
	fmt.Printf("live %d MiB, sum %d\n", len(blocks), sum)
}
