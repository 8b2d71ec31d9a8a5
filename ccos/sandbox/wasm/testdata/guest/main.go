// Command guest is the WASI test module of package wasm, built with
// GOOS=wasip1 GOARCH=wasm by the tests. It does what the last
// dot-separated segment of argv[0] names ("test.upper" and "upper" both
// run upper), reading its arguments as a JSON array on stdin and writing
// a JSON result on stdout; a failure is a message on stderr and exit
// code 1.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

func main() {
	op := "echo"
	if len(os.Args) > 0 {
		op = os.Args[0][strings.LastIndexByte(os.Args[0], '.')+1:]
	}
	in, err := io.ReadAll(os.Stdin)
	check(err)
	var args []any
	if op != "echo" && op != "raw" && len(in) > 0 {
		check(json.Unmarshal(in, &args))
	}
	str := func(i int) string {
		if i >= len(args) {
			fail(fmt.Errorf("argument %d missing", i+1))
		}
		s, ok := args[i].(string)
		if !ok {
			fail(fmt.Errorf("argument %d is not a string", i+1))
		}
		return s
	}
	switch op {
	case "echo": // the arguments array, as read
		_, err = os.Stdout.Write(in)
		check(err)
	case "raw": // stdin as is, as a JSON string
		out(string(in))
	case "upper":
		out(strings.ToUpper(str(0)))
	case "read":
		b, err := os.ReadFile(str(0))
		check(err)
		out(string(b))
	case "write":
		check(os.WriteFile(str(0), []byte(str(1)), 0o644))
		out(true)
	case "list":
		ents, err := os.ReadDir(str(0))
		check(err)
		names := []string{}
		for _, e := range ents {
			names = append(names, e.Name())
		}
		out(names)
	case "symlink":
		check(os.Symlink(str(0), str(1)))
		out(true)
	case "env":
		out(map[string]any{"args": os.Args, "env": os.Environ()})
	case "time":
		t0 := time.Now()
		time.Sleep(50 * time.Millisecond)
		out(map[string]any{"unix": t0.Unix(), "slept-ms": time.Since(t0).Milliseconds()})
	case "exit":
		fmt.Fprintln(os.Stderr, "guest: giving up as asked")
		os.Exit(3)
	case "notjson":
		fmt.Print("this is not JSON")
	case "spin":
		n := 0
		for {
			n++
		}
	case "hog":
		var keep [][]byte
		for i := 0; ; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = byte(i)
			}
			keep = append(keep, b)
			if i%16 == 0 {
				fmt.Fprintf(os.Stderr, "guest: %d MiB\n", len(keep))
			}
		}
	case "flood": // more output than the host keeps
		chunk := strings.Repeat("x", 1<<20)
		for i := 0; i < 40; i++ {
			fmt.Print(chunk)
		}
	default:
		fail(fmt.Errorf("unknown operation %q", op))
	}
}

func out(v any) {
	check(json.NewEncoder(os.Stdout).Encode(v))
}

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "guest:", err)
	os.Exit(1)
}
