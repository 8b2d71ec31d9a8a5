package wasm

// A hand-assembled WASI command module for the benchmark: a Go wasip1
// module spends milliseconds starting its runtime, this one copies stdin
// to stdout with a few WASI calls. Its text form:
//
//	(module
//	  (type $rw (func (param i32 i32 i32 i32) (result i32)))
//	  (type $exit (func (param i32)))
//	  (type $start (func))
//	  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (type $rw)))
//	  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (type $rw)))
//	  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (type $exit)))
//	  (memory (export "memory") 1)
//	  (func (export "_start") (local $n i32)
//	    (block $done
//	      (loop $more
//	        ;; iovec at 0: buffer 16, length 65520
//	        (i32.store (i32.const 0) (i32.const 16))
//	        (i32.store (i32.const 4) (i32.const 65520))
//	        (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
//	          (then (call $proc_exit (i32.const 1))))
//	        (br_if $done (i32.eqz (local.tee $n (i32.load (i32.const 8)))))
//	        (i32.store (i32.const 4) (local.get $n))
//	        (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12))
//	          (then (call $proc_exit (i32.const 1))))
//	        (br $more)))))

// uleb appends the unsigned LEB128 encoding of v.
func uleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// sleb appends the signed LEB128 encoding of v.
func sleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// wasmName appends a length-prefixed name.
func wasmName(b []byte, s string) []byte {
	return append(uleb(b, uint64(len(s))), s...)
}

// wasmVec appends a vector of n items already encoded in items.
func wasmVec(b []byte, n int, items []byte) []byte {
	return append(uleb(b, uint64(n)), items...)
}

// wasmSection appends section id with its content.
func wasmSection(b []byte, id byte, content []byte) []byte {
	b = append(b, id)
	return append(uleb(b, uint64(len(content))), content...)
}

// minimalEchoModule returns the module described above.
func minimalEchoModule() []byte {
	const (
		i32       = 0x7f
		funcType  = 0x60
		opBlock   = 0x02
		opLoop    = 0x03
		opIf      = 0x04
		opEnd     = 0x0b
		opBr      = 0x0c
		opBrIf    = 0x0d
		opCall    = 0x10
		opGet     = 0x20
		opTee     = 0x22
		opLoad    = 0x28
		opStore   = 0x36
		opConst   = 0x41
		opEqz     = 0x45
		blockVoid = 0x40
	)
	c := func(b []byte, v int64) []byte { return sleb(append(b, opConst), v) }
	store := func(b []byte) []byte { return append(b, opStore, 2, 0) } // align 4, offset 0
	load := func(b []byte) []byte { return append(b, opLoad, 2, 0) }

	var types []byte
	types = append(types, funcType, 4, i32, i32, i32, i32, 1, i32) // 0: fd_read, fd_write
	types = append(types, funcType, 1, i32, 0)                     // 1: proc_exit
	types = append(types, funcType, 0, 0)                          // 2: _start

	var imports []byte
	for _, im := range []struct {
		name string
		typ  byte
	}{{"fd_read", 0}, {"fd_write", 0}, {"proc_exit", 1}} {
		imports = wasmName(imports, "wasi_snapshot_preview1")
		imports = wasmName(imports, im.name)
		imports = append(imports, 0x00, im.typ) // a function of type typ
	}

	var exports []byte
	exports = append(wasmName(exports, "memory"), 0x02, 0)
	exports = append(wasmName(exports, "_start"), 0x00, 3)

	var body []byte
	body = append(body, 1, 1, i32) // one local i32
	body = append(body, opBlock, blockVoid, opLoop, blockVoid)
	body = store(c(c(body, 0), 16))
	body = store(c(c(body, 4), 65520))
	body = append(c(c(c(c(body, 0), 0), 1), 8), opCall, 0)
	body = append(body, opIf, blockVoid)
	body = append(c(body, 1), opCall, 2, opEnd)
	body = load(c(body, 8))
	body = append(body, opTee, 0, opEqz, opBrIf, 1)
	body = store(append(c(body, 4), opGet, 0))
	body = append(c(c(c(c(body, 1), 0), 1), 12), opCall, 1)
	body = append(body, opIf, blockVoid)
	body = append(c(body, 1), opCall, 2, opEnd)
	body = append(body, opBr, 0, opEnd, opEnd, opEnd)
	code := uleb(nil, uint64(len(body)))
	code = append(code, body...)

	b := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	b = wasmSection(b, 1, wasmVec(nil, 3, types))
	b = wasmSection(b, 2, wasmVec(nil, 3, imports))
	b = wasmSection(b, 3, wasmVec(nil, 1, []byte{2}))
	b = wasmSection(b, 5, wasmVec(nil, 1, []byte{0x00, 1})) // min 1 page, no max
	b = wasmSection(b, 7, wasmVec(nil, 2, exports))
	b = wasmSection(b, 10, wasmVec(nil, 1, code))
	return b
}

// voidModule returns a module with one type (func), the given function
// imports of that type from module importMod, an exported one-page
// memory and an exported _start whose body (without locals) is body.
func voidModule(importMod string, imports []string, body []byte) []byte {
	types := wasmVec(nil, 1, []byte{0x60, 0, 0})
	var ims []byte
	for _, name := range imports {
		ims = append(wasmName(wasmName(ims, importMod), name), 0x00, 0)
	}
	var exports []byte
	exports = append(wasmName(exports, "memory"), 0x02, 0)
	exports = append(wasmName(exports, "_start"), 0x00, byte(len(imports)))
	fn := append([]byte{0}, body...) // no locals
	code := append(uleb(nil, uint64(len(fn))), fn...)

	b := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	b = wasmSection(b, 1, types)
	if len(imports) > 0 {
		b = wasmSection(b, 2, wasmVec(nil, len(imports), ims))
	}
	b = wasmSection(b, 3, wasmVec(nil, 1, []byte{0}))
	b = wasmSection(b, 5, wasmVec(nil, 1, []byte{0x00, 1}))
	b = wasmSection(b, 7, wasmVec(nil, 2, exports))
	b = wasmSection(b, 10, wasmVec(nil, 1, code))
	return b
}
