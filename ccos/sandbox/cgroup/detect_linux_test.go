//go:build linux

package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeMounts writes cgroup.controllers for a v2 mount under a temporary
// directory and returns mountinfo text for it and the given v1 hierarchies
// (mount name -> super options).
func fakeMounts(t *testing.T, v2Controllers *string, v1 map[string]string) (string, string) {
	t.Helper()
	root := t.TempDir()
	var b strings.Builder
	id := 30
	if v2Controllers != nil {
		dir := filepath.Join(root, "v2 mount")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.controllers"), []byte(*v2Controllers+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d 25 0:26 / %s rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n", id, strings.ReplaceAll(dir, " ", `\040`))
		id++
	}
	fmt.Fprintf(&b, "%d 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n", id)
	id++
	for name, opts := range v1 {
		fmt.Fprintf(&b, "%d 25 0:%d / %s rw,nosuid - cgroup cgroup %s\n", id, id, filepath.Join(root, name), opts)
		id++
	}
	return b.String(), root
}

func detectText(t *testing.T, text string) (layout, error) {
	t.Helper()
	mounts, err := parseMountinfo(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return detect(mounts, v2Needed)
}

func ptr(s string) *string { return &s }

var fullV1 = map[string]string{
	"cpu,cpuacct": "rw,cpu,cpuacct",
	"memory":      "rw,memory",
	"pids":        "rw,pids",
	"freezer":     "rw,freezer",
	"systemd":     "rw,xattr,name=systemd",
}

func TestDetectPureV2(t *testing.T) {
	text, root := fakeMounts(t, ptr("cpuset cpu io memory hugetlb pids rdma misc"), nil)
	lay, err := detectText(t, text)
	if err != nil {
		t.Fatal(err)
	}
	if lay.version != 2 || lay.v2Mount != filepath.Join(root, "v2 mount") {
		t.Errorf("layout %+v", lay)
	}
}

func TestDetectHybridPicksV1(t *testing.T) {
	text, root := fakeMounts(t, ptr(""), fullV1)
	lay, err := detectText(t, text)
	if err != nil {
		t.Fatal(err)
	}
	if lay.version != 1 {
		t.Fatalf("version %d", lay.version)
	}
	for c, want := range map[string]string{"cpu": "cpu,cpuacct", "cpuacct": "cpu,cpuacct", "memory": "memory", "pids": "pids", "freezer": "freezer"} {
		if lay.v1[c] != filepath.Join(root, want) {
			t.Errorf("%s at %q", c, lay.v1[c])
		}
	}
	if _, ok := lay.v1["name=systemd"]; ok {
		t.Error("the named systemd hierarchy was taken for a controller")
	}
}

func TestDetectErrors(t *testing.T) {
	noMem := map[string]string{"cpu,cpuacct": "rw,cpu,cpuacct", "pids": "rw,pids"}
	cases := []struct {
		name string
		v2   *string
		v1   map[string]string
		want string
	}{
		{"v2 without memory, v1 without memory", ptr("cpu pids"), noMem,
			"without the memory controller and no cgroup v1 memory hierarchy exists"},
		{"empty v2, no v1", ptr(""), nil,
			"without the memory, cpu, pids controllers and no cgroup v1 memory, cpu, cpuacct, pids hierarchies exist"},
		{"nothing", nil, nil, "no cgroup v2 is mounted and no cgroup v1"},
		{"split", ptr("memory"), noMem, "splitting controllers between cgroup v1 and v2 is not supported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text, _ := fakeMounts(t, c.v2, c.v1)
			_, err := detectText(t, text)
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("err = %v; want ErrUnsupported", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q; want it to say %q", err, c.want)
			}
			t.Log(err)
		})
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/a\040b\134c`); got != `/a b\c` {
		t.Errorf("got %q", got)
	}
}
