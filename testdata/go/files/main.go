// Command files exercises filesystem read and write WASI imports.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: files SRC DST")
		os.Exit(2)
	}
	src, dst := os.Args[1], os.Args[2]
	data, err := os.ReadFile(src)
	check(err)
	dir := filepath.Join(filepath.Dir(dst), "wasipack-tmp")
	check(os.MkdirAll(dir, 0o755))
	check(os.WriteFile(dst, data, 0o644))
	entries, err := os.ReadDir(filepath.Dir(dst))
	check(err)
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	check(os.Remove(dst))
	check(os.Remove(dir))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
