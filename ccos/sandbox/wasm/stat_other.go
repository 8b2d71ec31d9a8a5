//go:build !linux

package wasm

import "os"

// newLoadedFile records the identity of a verified module file.
func newLoadedFile(m *Module, fi os.FileInfo) *loadedFile {
	return &loadedFile{m: m, size: fi.Size(), mtime: fi.ModTime()}
}

// same reports whether fi looks like the file recorded in lf.
func (lf *loadedFile) same(fi os.FileInfo) bool {
	return lf.size == fi.Size() && lf.mtime.Equal(fi.ModTime())
}
