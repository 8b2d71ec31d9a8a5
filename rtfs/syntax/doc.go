// Package syntax implements the reader of RTFS, a small Clojure-like Lisp:
// a scanner and parser that turn source text into a tree of Nodes with
// positions, and a printer that turns a tree back into canonical source.
//
// The reader expands the usual sugar while reading: 'x becomes (quote x),
// @x becomes (deref x), #(+ % 1) becomes (fn [%1] (+ %1 1)), #_ discards a
// form and ^meta attaches metadata to the next form. A ':' directly after a
// symbol starts a type annotation (x:int), stored in Symbol.Type.
//
// The reader is meant to face untrusted input: it never panics, bounds its
// recursion by MaxDepth, and reports every problem as an *Error carrying a
// position, the source line and whether more input could complete it.
package syntax
