package caps

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ccos-go/ccos/rtfs/value"
)

// File modes of ccos.io.open-file.
const (
	biModeRead   = "read"
	biModeWrite  = "write"
	biModeAppend = "append"
)

// Files is a run's table of open file handles (ccos.io.open-file and
// friends). Handles are small integers, never reused within a table,
// wrapped in a map value {:handle N :path "..." :mode :read}; closing the
// run closes them all (CloseAll). A Files is safe for concurrent use by
// the parallel branches of a run; operations on one handle are
// serialised.
type Files struct {
	mu   sync.Mutex
	next int64
	open map[int64]*biOpenFile
}

// biOpenFile is one open handle.
type biOpenFile struct {
	mu     sync.Mutex // serialises reads/writes/close on this handle
	path   string
	mode   string
	f      *os.File
	r      *bufio.Reader // mode read
	closed bool
}

// NewFiles returns an empty handle table.
func NewFiles() *Files {
	return &Files{open: map[int64]*biOpenFile{}}
}

// CloseAll closes every open handle and empties the table; it returns the
// errors of the closes that failed, joined. The table stays usable.
func (f *Files) CloseAll() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	open := f.open
	f.open = map[int64]*biOpenFile{}
	f.mu.Unlock()
	var errs []error
	for _, of := range open {
		if err := of.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Len returns the number of open handles.
func (f *Files) Len() int {
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.open)
}

// openPath opens path in mode and returns its handle value.
func (f *Files) openPath(path, mode string) (value.Value, error) {
	f.mu.Lock()
	n := len(f.open)
	f.mu.Unlock()
	if n >= MaxOpenFiles {
		return nil, value.Errorf(value.ErrResource, "ccos.io.open-file: too many open files (%d); close some with ccos.io.close-file", n)
	}
	var (
		fh  *os.File
		err error
	)
	switch mode {
	case biModeRead:
		fh, err = os.Open(path)
		if err == nil {
			// A directory opens fine but cannot be read line by line.
			if st, serr := fh.Stat(); serr == nil && st.IsDir() {
				fh.Close()
				return nil, value.Errorf(value.ErrIO, "ccos.io.open-file: %s is a directory", path)
			}
		}
	case biModeWrite:
		fh, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	case biModeAppend:
		fh, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	default:
		return nil, value.Errorf(value.ErrType, "ccos.io.open-file: mode must be :read, :write or :append, got :%s", mode)
	}
	if err != nil {
		return nil, biIOErr("ccos.io.open-file", err)
	}
	of := &biOpenFile{path: path, mode: mode, f: fh}
	if mode == biModeRead {
		of.r = bufio.NewReader(fh)
	}
	f.mu.Lock()
	if f.open == nil {
		f.open = map[int64]*biOpenFile{}
	}
	if len(f.open) >= MaxOpenFiles {
		f.mu.Unlock()
		fh.Close()
		return nil, value.Errorf(value.ErrResource, "ccos.io.open-file: too many open files (%d); close some with ccos.io.close-file", MaxOpenFiles)
	}
	f.next++
	id := f.next
	f.open[id] = of
	f.mu.Unlock()
	return biHandleValue(id, path, mode), nil
}

// biHandleValue is the RTFS value of a handle.
func biHandleValue(id int64, path, mode string) *value.Map {
	return value.NewMap(
		value.Keyword("handle"), value.Int(id),
		value.Keyword("path"), value.String(path),
		value.Keyword("mode"), value.Keyword(mode),
	)
}

// lookup returns the open file a handle value names. The handle must be
// a map whose :handle is open in this table and whose :path and :mode
// match the opened file; anything else is an :io-error (a :type-error
// when h is not a map at all).
func (f *Files) lookup(id string, h value.Value) (int64, *biOpenFile, error) {
	m, ok := h.(*value.Map)
	if !ok {
		return 0, nil, biTypeErr(id, "a file handle (from ccos.io.open-file)", h)
	}
	hv, _ := m.Get(value.Keyword("handle"))
	n, ok := hv.(value.Int)
	if !ok {
		return 0, nil, value.Errorf(value.ErrIO, "%s: not a file handle: %s", id, value.Repr(h))
	}
	if f == nil {
		return 0, nil, value.Errorf(value.ErrIO, "%s: unknown or closed file handle %d", id, n)
	}
	f.mu.Lock()
	of := f.open[int64(n)]
	f.mu.Unlock()
	if of == nil {
		return 0, nil, value.Errorf(value.ErrIO, "%s: unknown or closed file handle %d", id, n)
	}
	pv, _ := m.Get(value.Keyword("path"))
	mv, _ := m.Get(value.Keyword("mode"))
	if p, ok := pv.(value.String); !ok || string(p) != of.path {
		return 0, nil, value.Errorf(value.ErrIO, "%s: handle %d does not match the opened file %s", id, n, of.path)
	}
	if md, ok := mv.(value.Keyword); !ok || string(md) != of.mode {
		return 0, nil, value.Errorf(value.ErrIO, "%s: handle %d does not match the opened file's mode :%s", id, n, of.mode)
	}
	return int64(n), of, nil
}

// readLine reads the next line of a :read handle, without its line
// terminator (\n or \r\n); at end of file it returns nil.
func (f *Files) readLine(h value.Value) (value.Value, error) {
	const id = "ccos.io.read-line"
	n, of, err := f.lookup(id, h)
	if err != nil {
		return nil, err
	}
	of.mu.Lock()
	defer of.mu.Unlock()
	if of.closed {
		return nil, value.Errorf(value.ErrIO, "%s: file handle %d is closed", id, n)
	}
	if of.mode != biModeRead {
		return nil, value.Errorf(value.ErrIO, "%s: file handle %d (%s) is open for :%s, not :read", id, n, of.path, of.mode)
	}
	var line []byte
	for {
		chunk, err := of.r.ReadSlice('\n')
		if len(line)+len(chunk) > MaxReadFileBytes {
			return nil, biLimitErr(id, "a line of "+of.path, MaxReadFileBytes)
		}
		line = append(line, chunk...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(line) == 0 {
				return nil, nil
			}
			break
		}
		return nil, biIOErr(id, err)
	}
	s := string(line)
	if len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
		if len(s) > 0 && s[len(s)-1] == '\r' {
			s = s[:len(s)-1]
		}
	}
	return value.String(s), nil
}

// writeLine writes line and a newline to a :write or :append handle.
func (f *Files) writeLine(h value.Value, line string) error {
	const id = "ccos.io.write-line"
	n, of, err := f.lookup(id, h)
	if err != nil {
		return err
	}
	of.mu.Lock()
	defer of.mu.Unlock()
	if of.closed {
		return value.Errorf(value.ErrIO, "%s: file handle %d is closed", id, n)
	}
	if of.mode == biModeRead {
		return value.Errorf(value.ErrIO, "%s: file handle %d (%s) is open for :read, not writing", id, n, of.path)
	}
	if _, err := of.f.WriteString(line + "\n"); err != nil {
		return biIOErr(id, err)
	}
	return nil
}

// closeHandle closes a handle and removes it from the table.
func (f *Files) closeHandle(h value.Value) error {
	const id = "ccos.io.close-file"
	n, of, err := f.lookup(id, h)
	if err != nil {
		return err
	}
	f.mu.Lock()
	if f.open[n] != of {
		f.mu.Unlock()
		return value.Errorf(value.ErrIO, "%s: unknown or closed file handle %d", id, n)
	}
	delete(f.open, n)
	f.mu.Unlock()
	if err := of.close(); err != nil {
		return biIOErr(id, err)
	}
	return nil
}

// close closes the file once.
func (of *biOpenFile) close() error {
	of.mu.Lock()
	defer of.mu.Unlock()
	if of.closed {
		return nil
	}
	of.closed = true
	if err := of.f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", of.path, err)
	}
	return nil
}
