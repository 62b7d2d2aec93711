// Command wasipack-dep is a wasip1 command that uses a third-party module
// (github.com/google/uuid), so that its build info lists a real dependency
// with a version and a go.sum hash (for SBOM tests).
//
// It prints a name-based UUID (deterministic), its arguments, and the
// contents of the file named by $DEP_FILE when that is set.
package main

import (
	"fmt"
	"os"

	"github.com/google/uuid"
)

func main() {
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://example.com/wasipack-dep"))
	fmt.Println("uuid:", id)
	fmt.Printf("args: %q\n", os.Args[1:])
	if name := os.Getenv("DEP_FILE"); name != "" {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wasipack-dep:", err)
			os.Exit(1)
		}
		fmt.Printf("file %s: %s", name, data)
	}
}
