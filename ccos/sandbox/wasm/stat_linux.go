package wasm

import (
	"os"
	"syscall"
	"time"
)

// newLoadedFile records the identity of a verified module file.
func newLoadedFile(m *Module, fi os.FileInfo) *loadedFile {
	lf := &loadedFile{m: m, size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		lf.ino = st.Ino
		lf.ctime = time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	}
	return lf
}

// same reports whether fi looks like the file recorded in lf (any write,
// rename over it or attribute change alters the change time).
func (lf *loadedFile) same(fi os.FileInfo) bool {
	other := newLoadedFile(nil, fi)
	return lf.size == other.size && lf.mtime.Equal(other.mtime) &&
		lf.ino == other.ino && lf.ctime.Equal(other.ctime)
}
