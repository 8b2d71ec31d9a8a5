// Command mediantable reads `go test -bench VsPython` output and prints a
// Markdown table of per-program medians for ccos and CPython and their ratio.
// Every number in the table is computed from the raw benchmark lines.
//
// Usage:
//
//	go run ./bench/internal/mediantable < bench/results/raw.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

const prefix = "BenchmarkVsPython/"

// samples holds the per-run values of one metric unit for one (program,
// implementation) pair.
type samples map[string][]float64 // unit -> values

func main() {
	in := flag.String("in", "", "benchmark output to read (default stdin)")
	flag.Parse()
	r := io.Reader(os.Stdin)
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mediantable:", err)
			os.Exit(1)
		}
		defer f.Close()
		r = f
	}
	order, data, err := parse(r)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mediantable:", err)
		os.Exit(1)
	}
	if len(order) == 0 {
		fmt.Fprintln(os.Stderr, "mediantable: no BenchmarkVsPython results in input")
		os.Exit(1)
	}
	write(os.Stdout, order, data)
}

// parse collects samples keyed by program then implementation, and the
// programs in order of first appearance.
func parse(r io.Reader) ([]string, map[string]map[string]samples, error) {
	var order []string
	data := map[string]map[string]samples{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], prefix) {
			continue
		}
		name := f[0][len(prefix):]
		// Drop the -GOMAXPROCS suffix, if any, from the last element.
		if i := strings.LastIndexByte(name, '-'); i > strings.LastIndexByte(name, '/') {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		prog, impl, ok := strings.Cut(name, "/")
		if !ok {
			continue
		}
		if data[prog] == nil {
			data[prog] = map[string]samples{}
			order = append(order, prog)
		}
		if data[prog][impl] == nil {
			data[prog][impl] = samples{}
		}
		iters, err := strconv.ParseFloat(f[1], 64)
		if err != nil || iters <= 0 {
			return nil, nil, fmt.Errorf("bad iteration count in %q", sc.Text())
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("bad value %q in %q", f[i], sc.Text())
			}
			data[prog][impl][f[i+1]] = append(data[prog][impl][f[i+1]], v)
		}
	}
	return order, data, sc.Err()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// secs formats a nanosecond value as seconds.
func secs(ns float64) string { return fmt.Sprintf("%.3f s", ns/1e9) }

// spread formats the min–max range of a sample in seconds.
func spread(xs []float64) string {
	if len(xs) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f–%.2f", slices.Min(xs)/1e9, slices.Max(xs)/1e9)
}

func ratio(a, b []float64) (float64, string) {
	if len(a) == 0 || len(b) == 0 || median(b) == 0 {
		return 0, "–"
	}
	r := median(a) / median(b)
	return r, fmt.Sprintf("%.2f", r)
}

// write prints the table. Wall and CPU columns are medians; the range after
// a wall median is the fastest and slowest run.
func write(w io.Writer, order []string, data map[string]map[string]samples) {
	fmt.Fprintln(w, "| program | runs | ccos wall, median (min–max) | python wall, median (min–max) | **ratio ccos/python** | ccos CPU | python CPU | CPU ratio | peak RSS ccos / python |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, prog := range order {
		c, p := data[prog]["ccos"], data[prog]["python"]
		cw, pw := c["ns/op"], p["ns/op"]
		cc, pc := c["cpu-ns/op"], p["cpu-ns/op"]
		r, rs := ratio(cw, pw)
		if rs != "–" {
			mark := "✓"
			if r > 1.0 {
				mark = "✗"
			}
			rs = "**" + rs + "** " + mark
		}
		_, crs := ratio(cc, pc)
		fmt.Fprintf(w, "| %s | %s | %s (%s) | %s (%s) | %s | %s | %s | %s | %s / %s |\n",
			prog, runs(cw, pw),
			secs(median(cw)), spread(cw), secs(median(pw)), spread(pw), rs,
			secs(median(cc)), secs(median(pc)), crs,
			mib(c["peak-RSS-B"]), mib(p["peak-RSS-B"]))
	}
}

func runs(a, b []float64) string {
	if len(a) == len(b) {
		return strconv.Itoa(len(a))
	}
	return fmt.Sprintf("%d/%d", len(a), len(b))
}

// mib formats the largest peak RSS seen, in MiB.
func mib(xs []float64) string {
	if len(xs) == 0 || slices.Max(xs) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f MiB", slices.Max(xs)/(1<<20))
}
