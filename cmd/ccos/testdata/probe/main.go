// Command probe is a deliberately misbehaving program for the sandbox
// end-to-end tests: each subcommand tries something a sandboxed capability
// must not be able to do (or that it may), prints what happened and exits
// 0 on success, 1 on failure.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe CMD ARGS...")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

func run(cmd string, args []string) error {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch cmd {
	case "dial":
		c, err := net.DialTimeout("tcp", arg(0), 2*time.Second)
		if err != nil {
			return err
		}
		c.Close()
		fmt.Println("connected")
	case "dial-unix":
		c, err := net.DialTimeout("unix", arg(0), 2*time.Second)
		if err != nil {
			return err
		}
		c.Close()
		fmt.Println("connected")
	case "fetch":
		// Like curl, use HTTP_PROXY even for loopback addresses (Go's
		// ProxyFromEnvironment never proxies those).
		tr := &http.Transport{}
		if p := os.Getenv("HTTP_PROXY"); p != "" {
			u, err := url.Parse(p)
			if err != nil {
				return err
			}
			tr.Proxy = http.ProxyURL(u)
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(arg(0))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %s", resp.StatusCode, b)
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
	case "write":
		if err := os.WriteFile(arg(0), []byte(arg(1)), 0o644); err != nil {
			return err
		}
		fmt.Println("written")
	case "read":
		b, err := os.ReadFile(arg(0))
		if err != nil {
			return err
		}
		fmt.Print(string(b))
	case "env":
		v, ok := os.LookupEnv(arg(0))
		if !ok {
			fmt.Println("(unset)")
			return nil
		}
		fmt.Println(v)
	case "hog":
		mb, _ := strconv.Atoi(arg(0))
		var keep [][]byte
		for i := 0; i < mb; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j)
			}
			keep = append(keep, b)
		}
		fmt.Println("allocated", len(keep), "MiB")
	case "spin":
		for {
		}
	case "forkbomb":
		// Start sleepers until the process limit stops us.
		n := 0
		for ; n < 10000; n++ {
			c := exec.Command(os.Args[0], "sleep")
			if err := c.Start(); err != nil {
				fmt.Println("stopped after", n, "processes:", err)
				return err
			}
		}
		fmt.Println("started", n)
	case "sleep":
		time.Sleep(time.Minute)
	case "spawn-and-exit":
		// Leave a long sleeper behind.
		c := exec.Command(os.Args[0], "sleep")
		if err := c.Start(); err != nil {
			return err
		}
		fmt.Println(c.Process.Pid)
	case "ptrace":
		_, _, errno := syscall.RawSyscall(syscall.SYS_PTRACE, syscall.PTRACE_TRACEME, 0, 0)
		if errno != 0 {
			return errno
		}
		fmt.Println("traced")
	case "mount":
		if err := syscall.Mount("none", "/mnt", "tmpfs", 0, ""); err != nil {
			return err
		}
		fmt.Println("mounted")
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
	return nil
}
