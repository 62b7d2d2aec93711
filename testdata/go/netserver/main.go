// Command netserver serves on a socket preopened by the host as fd 3
// (e.g. `wasmtime run -S tcplisten=127.0.0.1:8080`).
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
)

func main() {
	l, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer l.Close()
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return
		}
		go handle(c)
	}
}

func handle(c net.Conn) {
	defer c.Close()
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Fprintf(c, "echo: %s", line)
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}
