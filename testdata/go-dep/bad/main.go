// Command bad imports wasi_snapshot_preview1.path_open with a wrong signature
// (8 parameters; the real one has 9: fd, dirflags, path, path_len, oflags,
// fs_rights_base, fs_rights_inheriting, fdflags, result fd pointer), so it
// violates the default policy's signature check. It compiles and links; the
// import is reachable so the linker keeps it. Do not run it.
package main

import (
	"fmt"
	"os"
	"unsafe"

	"github.com/google/uuid"
)

//go:wasmimport wasi_snapshot_preview1 path_open
//go:noescape
func pathOpen(fd int32, dirflags int32, path unsafe.Pointer, pathLen int32, oflags int32, rightsBase int64, rightsInheriting int64, resultFd unsafe.Pointer) int32

func main() {
	fmt.Println(uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://example.com/wasipack-dep/bad")))
	if len(os.Args) > 1 && os.Args[1] == "open" {
		var fd int32
		name := "x"
		errno := pathOpen(3, 0, unsafe.Pointer(unsafe.StringData(name)), int32(len(name)), 0, 0, 0, unsafe.Pointer(&fd))
		fmt.Println("path_open:", errno, fd)
	}
}
