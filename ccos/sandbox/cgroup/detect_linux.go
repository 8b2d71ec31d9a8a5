//go:build linux

package cgroup

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// v2Needed are the controllers a v2 layout must offer.
var v2Needed = []string{"memory", "cpu", "pids"}

// v1Needed are the hierarchies a v1 layout must have; v1Optional are used
// when present.
var (
	v1Needed   = []string{"memory", "cpu", "cpuacct", "pids"}
	v1Optional = []string{"freezer"}
)

// mountEntry is one line of /proc/self/mountinfo that matters here.
type mountEntry struct {
	root       string   // path inside the filesystem that is mounted
	mountPoint string   // where it is mounted
	fsType     string   // "cgroup" or "cgroup2"
	superOpts  []string // per-superblock options: the v1 controllers
}

// parseMountinfo reads the cgroup and cgroup2 mounts of a mountinfo file.
func parseMountinfo(r io.Reader) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
		fields := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) {
			continue
		}
		fsType := fields[sep+1]
		if fsType != "cgroup" && fsType != "cgroup2" {
			continue
		}
		e := mountEntry{
			root:       unescapeMount(fields[3]),
			mountPoint: unescapeMount(fields[4]),
			fsType:     fsType,
		}
		if sep+3 < len(fields) {
			e.superOpts = strings.Split(fields[sep+3], ",")
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// unescapeMount undoes the octal escapes (\040 for a space...) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// layout is what detect found.
type layout struct {
	version int
	// v2Mount is the cgroup2 mount point (version 2).
	v2Mount string
	// v1 maps each v1 controller used to its hierarchy's mount point
	// (version 1).
	v1 map[string]string
}

// detect chooses the layout from the cgroup mounts: v2 when its root offers
// every controller in need, else v1 when every needed hierarchy exists.
func detect(mounts []mountEntry, need2 []string) (layout, error) {
	var v2Mount string
	var v2Avail map[string]bool
	v1 := map[string]string{}
	for _, e := range mounts {
		switch e.fsType {
		case "cgroup2":
			if v2Mount != "" {
				continue
			}
			v2Mount = e.mountPoint
			v2Avail = map[string]bool{}
			if b, err := os.ReadFile(filepath.Join(e.mountPoint, "cgroup.controllers")); err == nil {
				for _, c := range strings.Fields(string(b)) {
					v2Avail[c] = true
				}
			}
		case "cgroup":
			for _, o := range e.superOpts {
				if contains(v1Needed, o) || contains(v1Optional, o) {
					if _, ok := v1[o]; !ok {
						v1[o] = e.mountPoint
					}
				}
			}
		}
	}
	var missing2 []string
	for _, c := range need2 {
		if !v2Avail[c] {
			missing2 = append(missing2, c)
		}
	}
	if v2Mount != "" && len(missing2) == 0 {
		return layout{version: 2, v2Mount: v2Mount}, nil
	}
	var missing1 []string
	for _, c := range v1Needed {
		if _, ok := v1[c]; !ok {
			missing1 = append(missing1, c)
		}
	}
	if len(missing1) == 0 {
		return layout{version: 1, v1: v1}, nil
	}

	var why2 string
	switch {
	case v2Mount == "":
		why2 = "no cgroup v2 is mounted"
	default:
		why2 = fmt.Sprintf("cgroup v2 is mounted at %s without the %s controller%s", v2Mount, strings.Join(missing2, ", "), plural(len(missing2)))
	}
	why1 := fmt.Sprintf("no cgroup v1 %s hierarch%s exist%s", strings.Join(missing1, ", "), pluralY(len(missing1)), verbS(len(missing1)))
	for _, c := range missing1 {
		if c == "cpuacct" {
			c = "cpu"
		}
		if v2Mount != "" && !contains(missing2, c) {
			why1 += " (splitting controllers between cgroup v1 and v2 is not supported)"
			break
		}
	}
	return layout{}, fmt.Errorf("%w: %s and %s", ErrUnsupported, why2, why1)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pluralY(n int) string {
	if n == 1 {
		return "y"
	}
	return "ies"
}

func verbS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}
