package caps

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ccos-go/ccos/rtfs/syntax"
	"github.com/ccos-go/ccos/rtfs/types"
	"github.com/ccos-go/ccos/rtfs/value"
)

// Manifest providers.
const (
	ProviderLocal   = "local"   // Go code registered by the process
	ProviderHTTP    = "http"    // an HTTP endpoint (HTTPConfig)
	ProviderProgram = "program" // an external program (ProgramConfig)
	// ProviderWASM is a WebAssembly module (WASMConfig). It runs only in
	// the wasm sandbox provider (package ccos/sandbox/wasm), whose
	// documentation gives the calling convention: NewFromManifest leaves
	// a wasm capability's Run unset, so Invoke refuses to run it outside
	// that sandbox.
	ProviderWASM = "wasm"
)

// HTTP output modes (HTTPConfig.Output).
const (
	HTTPOutputAuto = ""     // JSON when the Content-Type says so, else text
	HTTPOutputJSON = "json" // JSON when the body parses as JSON, else text
	HTTPOutputText = "text" // always the body string
)

// MaxTimeout bounds the :timeout-ms of a manifest.
const MaxTimeout = 24 * time.Hour

// maxIDLen bounds the length of a capability id.
const maxIDLen = 256

// ManifestError is a problem in a manifest file, at a source position.
type ManifestError struct {
	Pos syntax.Pos
	Msg string
	Err error // the underlying error (e.g. a *types.ParseError), if any
}

// Error returns "file:line:col: msg".
func (e *ManifestError) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap returns the underlying error.
func (e *ManifestError) Unwrap() error { return e.Err }

// mfCost reads :hints :cost, the amount a call charges against a plan's
// :max-cost policy.
func mfCost(n syntax.Node) (float64, error) {
	var c float64
	switch x := n.(type) {
	case *syntax.Int:
		c = float64(x.Value)
	case *syntax.Float:
		c = x.Value
	default:
		return 0, mfErr(n, ":hints :cost must be a number, got %s", mfNodeKind(n))
	}
	if !(c >= 0) || c > 1e12 {
		return 0, mfErr(n, ":hints :cost must be between 0 and 1e12")
	}
	return c, nil
}

func mfErr(n syntax.Node, format string, args ...any) *ManifestError {
	return &ManifestError{Pos: n.Pos(), Msg: fmt.Sprintf(format, args...)}
}

// ValidateID checks the syntax of a capability id: one or more segments
// separated by '.', each made of ASCII letters, digits, '-' and '_' and
// starting with a letter or digit; the id starts with a letter and is at
// most 256 bytes long. Examples: "ccos.io.read-file", "weather.current".
func ValidateID(id string) error {
	if id == "" {
		return errors.New("empty capability id")
	}
	if len(id) > maxIDLen {
		return fmt.Errorf("capability id longer than %d bytes", maxIDLen)
	}
	if c := id[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return fmt.Errorf("invalid capability id %q: must start with a letter", id)
	}
	for seg := range strings.SplitSeq(id, ".") {
		if seg == "" {
			return fmt.Errorf("invalid capability id %q: empty segment", id)
		}
		if seg[0] == '-' || seg[0] == '_' {
			return fmt.Errorf("invalid capability id %q: segment %q must start with a letter or digit", id, seg)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("invalid capability id %q: character %q not allowed (letters, digits, '-', '_' and '.' are)", id, rune(c))
			}
		}
	}
	return nil
}

// ---- parsing ----

// parsedManifest is a manifest with the positions LoadDir reports.
type parsedManifest struct {
	m     *Manifest
	form  syntax.Pos // the map form
	idPos syntax.Pos // the :id value
}

// ParseManifests parses the manifests of one file. filename is used in
// positions. Syntax errors are *syntax.Error values, manifest errors
// *ManifestError values; both print as "file:line:col: message".
//
// Manifest files are RTFS data. A file holds one or more map forms, each
// describing one capability:
//
//	{:id "weather.current" :version "1.0.0" :description "..." :provider :http
//	 :http {:url "https://api.weather.example/v1/current" :method "GET"
//	        :headers {"Accept" "application/json"} :timeout-ms 5000 :output :json}
//	 :input-schema [:tuple [:map [:city :string]]] :output-schema :any
//	 :effects {:network ["api.weather.example:443"] :fs {:read ["/data"] :write []}
//	           :exec false :env ["HOME"] :clock false :human false
//	           :deterministic false :idempotent true}
//	 :hints {:compute-heavy false :download false} :tags ["weather"]}
//
//	{:id "text.count-lines" :provider :program
//	 :program {:path "/usr/bin/wc" :args ["-l"] :timeout-ms 10000}
//	 :effects {:exec true}}
//
//	{:id "text.upper" :provider :wasm
//	 :wasm {:path "upper.wasm" :sha256 "<64 hex digits>" :memory-mb 64 :timeout-ms 5000}
//	 :effects {:fs {:read ["/data"]}}}
//
// Parsing is strict: unknown keys, values of the wrong type, a missing :id
// or :provider, an invalid id and inconsistent provider configuration are
// errors carrying the file:line:col of the offending form or key.
//
// Omitted keys take defaults: :version "", no schemas (unchecked), no
// effects, :method "GET", no timeout (the provider default). Two effects
// are implied by the provider and must not be contradicted: a :program
// capability runs a program, so its :exec is true (an explicit :exec false
// is an error); an :http capability talks to its URL's host, so an omitted
// :network becomes ["host:port"] of the URL and a declared one must cover
// that host. A :wasm module gets no network, programs or environment, so
// a :wasm capability declaring :network hosts, :exec true or :env
// variables is an error. A relative :wasm :path is resolved against the
// directory of filename (made absolute); :sha256 is required and stored
// in lower case; :memory-mb (1 to 4096) and :timeout-ms default to
// DefaultWASMMemoryMB and DefaultWASMTimeout.
//
// A :provenance map {:source "..." :content-hash "..." :registered-at
// 2024-01-01T00:00:00.000Z} is accepted so that Manifest.ToValue round-trips;
// Marketplace.LoadDir replaces it with the file's own provenance.
func ParseManifests(filename string, src []byte) ([]*Manifest, error) {
	ps, err := parseManifests(filename, src)
	if err != nil {
		return nil, err
	}
	out := make([]*Manifest, len(ps))
	for i, p := range ps {
		out[i] = p.m
	}
	return out, nil
}

func parseManifests(filename string, src []byte) ([]parsedManifest, error) {
	forms, err := syntax.Parse(filename, src)
	if err != nil {
		return nil, err
	}
	if len(forms) == 0 {
		return nil, &ManifestError{Pos: syntax.Pos{File: filename, Line: 1, Col: 1}, Msg: "no manifest: expected one or more {:id ... :provider ...} maps"}
	}
	out := make([]parsedManifest, 0, len(forms))
	seen := make(map[string]syntax.Pos, len(forms))
	for _, f := range forms {
		p, err := parseManifest(f)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[p.m.ID]; dup {
			return nil, &ManifestError{Pos: p.idPos, Msg: fmt.Sprintf("duplicate capability id %q (first defined at %s)", p.m.ID, prev)}
		}
		seen[p.m.ID] = p.idPos
		out = append(out, p)
	}
	return out, nil
}

// mfEntry is one key/value pair of a map form.
type mfEntry struct {
	key string // keyword name
	k   syntax.Node
	v   syntax.Node
}

// mfFields checks that n is a map with keyword keys among allowed and
// returns its entries in source order.
func mfFields(n syntax.Node, what string, allowed ...string) ([]mfEntry, error) {
	m, ok := n.(*syntax.Map)
	if !ok {
		return nil, mfErr(n, "%s must be a map, got %s", what, mfNodeKind(n))
	}
	out := make([]mfEntry, 0, len(m.Elems)/2)
	for i := 0; i+1 < len(m.Elems); i += 2 {
		k, v := m.Elems[i], m.Elems[i+1]
		kw, ok := k.(*syntax.Keyword)
		if !ok {
			return nil, mfErr(k, "%s keys must be keywords, got %s", what, mfNodeKind(k))
		}
		if !slices.Contains(allowed, kw.Name) {
			return nil, mfErr(k, "unknown key :%s in %s (allowed: %s)", kw.Name, what, mfKeyList(allowed))
		}
		out = append(out, mfEntry{key: kw.Name, k: k, v: v})
	}
	return out, nil
}

func mfKeyList(keys []string) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(':')
		b.WriteString(k)
	}
	return b.String()
}

// mfNodeKind names the kind of a syntax node for error messages.
func mfNodeKind(n syntax.Node) string {
	switch n.(type) {
	case *syntax.Nil:
		return "nil"
	case *syntax.Bool:
		return "a boolean"
	case *syntax.Int:
		return "an integer"
	case *syntax.Float:
		return "a float"
	case *syntax.String:
		return "a string"
	case *syntax.Keyword:
		return "a keyword"
	case *syntax.Symbol:
		return "a symbol"
	case *syntax.List:
		return "a list"
	case *syntax.Vector:
		return "a vector"
	case *syntax.Map:
		return "a map"
	case *syntax.Set:
		return "a set"
	case *syntax.Timestamp:
		return "a timestamp"
	case *syntax.UUID:
		return "a uuid"
	case *syntax.Resource:
		return "a resource"
	}
	return "an unknown form"
}

func mfString(n syntax.Node, what string) (string, error) {
	s, ok := n.(*syntax.String)
	if !ok {
		return "", mfErr(n, "%s must be a string, got %s", what, mfNodeKind(n))
	}
	return s.Value, nil
}

func mfBool(n syntax.Node, what string) (bool, error) {
	b, ok := n.(*syntax.Bool)
	if !ok {
		return false, mfErr(n, "%s must be true or false, got %s", what, mfNodeKind(n))
	}
	return b.Value, nil
}

func mfTimeout(n syntax.Node, what string) (time.Duration, error) {
	i, ok := n.(*syntax.Int)
	if !ok {
		return 0, mfErr(n, "%s must be an integer number of milliseconds, got %s", what, mfNodeKind(n))
	}
	if i.Value <= 0 || i.Value > MaxTimeout.Milliseconds() {
		return 0, mfErr(n, "%s must be between 1 and %d, got %d", what, MaxTimeout.Milliseconds(), i.Value)
	}
	return time.Duration(i.Value) * time.Millisecond, nil
}

// mfStrings parses a vector of strings, each checked by check (if non-nil).
// An empty vector yields nil.
func mfStrings(n syntax.Node, what string, check func(string) error) ([]string, error) {
	v, ok := n.(*syntax.Vector)
	if !ok {
		return nil, mfErr(n, "%s must be a vector of strings, got %s", what, mfNodeKind(n))
	}
	var out []string
	for _, e := range v.Elems {
		s, ok := e.(*syntax.String)
		if !ok {
			return nil, mfErr(e, "%s must hold strings, got %s", what, mfNodeKind(e))
		}
		if check != nil {
			if err := check(s.Value); err != nil {
				return nil, mfErr(e, "%s: %v", what, err)
			}
		}
		out = append(out, s.Value)
	}
	return out, nil
}

func mfSchema(n syntax.Node, what string) (*types.Type, error) {
	t, err := types.Parse(value.FromSyntax(n))
	if err != nil {
		return nil, &ManifestError{Pos: n.Pos(), Msg: fmt.Sprintf("invalid %s: %v", what, err), Err: err}
	}
	return t, nil
}

var manifestKeys = []string{"id", "version", "description", "provider", "http", "program", "wasm",
	"input-schema", "output-schema", "effects", "hints", "tags", "provenance"}

func parseManifest(form syntax.Node) (parsedManifest, error) {
	p := parsedManifest{form: form.Pos()}
	es, err := mfFields(form, "a manifest", manifestKeys...)
	if err != nil {
		return p, err
	}
	m := &Manifest{}
	p.m = m
	var providerNode, httpNode, programNode, wasmNode syntax.Node
	var eff effectNodes
	haveID := false
	for _, e := range es {
		switch e.key {
		case "id":
			if m.ID, err = mfString(e.v, ":id"); err != nil {
				return p, err
			}
			if err := ValidateID(m.ID); err != nil {
				return p, mfErr(e.v, "%v", err)
			}
			haveID, p.idPos = true, e.v.Pos()
		case "version":
			if m.Version, err = mfString(e.v, ":version"); err != nil {
				return p, err
			}
			if err := validateVersion(m.Version); err != nil {
				return p, mfErr(e.v, "%v", err)
			}
		case "description":
			if m.Description, err = mfString(e.v, ":description"); err != nil {
				return p, err
			}
		case "provider":
			kw, ok := e.v.(*syntax.Keyword)
			if !ok {
				return p, mfErr(e.v, ":provider must be a keyword (:http, :program, :wasm or :local), got %s", mfNodeKind(e.v))
			}
			switch kw.Name {
			case ProviderLocal, ProviderHTTP, ProviderProgram, ProviderWASM:
			default:
				return p, mfErr(e.v, "unsupported provider :%s (supported: :http, :program, :wasm, :local)", kw.Name)
			}
			m.Provider, providerNode = kw.Name, e.v
		case "http":
			if m.HTTP, err = parseHTTPConfig(e.v); err != nil {
				return p, err
			}
			httpNode = e.k
		case "program":
			if m.Program, err = parseProgramConfig(e.v); err != nil {
				return p, err
			}
			programNode = e.k
		case "wasm":
			if m.WASM, err = parseWASMConfig(e.v); err != nil {
				return p, err
			}
			wasmNode = e.k
		case "input-schema":
			if m.Input, err = mfSchema(e.v, ":input-schema"); err != nil {
				return p, err
			}
		case "output-schema":
			if m.Output, err = mfSchema(e.v, ":output-schema"); err != nil {
				return p, err
			}
		case "effects":
			if eff, err = parseEffects(e.v, &m.Effects); err != nil {
				return p, err
			}
		case "hints":
			hs, err := mfFields(e.v, ":hints", "compute-heavy", "download", "cost")
			if err != nil {
				return p, err
			}
			for _, h := range hs {
				if h.key == "cost" {
					if m.Hints.Cost, err = mfCost(h.v); err != nil {
						return p, err
					}
					continue
				}
				var b bool
				if b, err = mfBool(h.v, ":hints :"+h.key); err != nil {
					return p, err
				}
				if h.key == "compute-heavy" {
					m.Hints.ComputeHeavy = b
				} else {
					m.Hints.Download = b
				}
			}
		case "tags":
			if m.Tags, err = mfStrings(e.v, ":tags", validateTag); err != nil {
				return p, err
			}
		case "provenance":
			if err := parseProvenance(e.v, &m.Provenance); err != nil {
				return p, err
			}
		}
	}
	if !haveID {
		return p, mfErr(form, "manifest has no :id")
	}
	if providerNode == nil {
		return p, mfErr(form, "manifest %q has no :provider", m.ID)
	}
	if wasmNode != nil && m.Provider != ProviderWASM {
		return p, mfErr(wasmNode, ":wasm is only allowed with :provider :wasm")
	}
	switch m.Provider {
	case ProviderHTTP:
		if programNode != nil {
			return p, mfErr(programNode, ":program is only allowed with :provider :program")
		}
		if m.HTTP == nil {
			return p, mfErr(providerNode, ":provider :http needs an :http {:url ...} map")
		}
		if eff.network == nil {
			m.Effects.Network = []string{urlHostPort(m.HTTP.URL)}
		} else if !networkCovers(m.Effects.Network, m.HTTP.URL) {
			return p, mfErr(eff.network, ":effects :network %q does not cover the :http :url host %s", m.Effects.Network, urlHostPort(m.HTTP.URL))
		}
	case ProviderProgram:
		if httpNode != nil {
			return p, mfErr(httpNode, ":http is only allowed with :provider :http")
		}
		if m.Program == nil {
			return p, mfErr(providerNode, ":provider :program needs a :program {:path ...} map")
		}
		if eff.exec != nil && !m.Effects.Exec {
			return p, mfErr(eff.exec, "a :program capability runs a program: :effects :exec must be true")
		}
		m.Effects.Exec = true
	case ProviderWASM:
		if httpNode != nil {
			return p, mfErr(httpNode, ":http is only allowed with :provider :http")
		}
		if programNode != nil {
			return p, mfErr(programNode, ":program is only allowed with :provider :program")
		}
		if m.WASM == nil {
			return p, mfErr(providerNode, ":provider :wasm needs a :wasm {:path ... :sha256 ...} map")
		}
		if len(m.Effects.Network) > 0 {
			return p, mfErr(eff.network, "wasm modules get no network: a :wasm capability cannot declare :effects :network")
		}
		if m.Effects.Exec {
			return p, mfErr(eff.exec, "wasm modules cannot run programs: a :wasm capability cannot declare :effects :exec true")
		}
		if len(m.Effects.Env) > 0 {
			return p, mfErr(eff.env, "wasm modules get no environment: a :wasm capability cannot declare :effects :env")
		}
	case ProviderLocal:
		if httpNode != nil {
			return p, mfErr(httpNode, ":http is only allowed with :provider :http")
		}
		if programNode != nil {
			return p, mfErr(programNode, ":program is only allowed with :provider :program")
		}
	}
	return p, nil
}

func parseHTTPConfig(n syntax.Node) (*HTTPConfig, error) {
	es, err := mfFields(n, ":http", "url", "method", "headers", "timeout-ms", "output")
	if err != nil {
		return nil, err
	}
	c := &HTTPConfig{Method: "GET"}
	haveURL := false
	for _, e := range es {
		switch e.key {
		case "url":
			if c.URL, err = mfString(e.v, ":http :url"); err != nil {
				return nil, err
			}
			if err := validateHTTPURL(c.URL); err != nil {
				return nil, mfErr(e.v, "%v", err)
			}
			haveURL = true
		case "method":
			if c.Method, err = mfString(e.v, ":http :method"); err != nil {
				return nil, err
			}
			if err := validateMethod(c.Method); err != nil {
				return nil, mfErr(e.v, "%v", err)
			}
		case "headers":
			hm, ok := e.v.(*syntax.Map)
			if !ok {
				return nil, mfErr(e.v, ":http :headers must be a map of strings to strings, got %s", mfNodeKind(e.v))
			}
			for i := 0; i+1 < len(hm.Elems); i += 2 {
				k, err := mfString(hm.Elems[i], "a header name")
				if err != nil {
					return nil, err
				}
				v, err := mfString(hm.Elems[i+1], "header "+strconv.Quote(k))
				if err != nil {
					return nil, err
				}
				if err := validateHeader(k, v); err != nil {
					return nil, mfErr(hm.Elems[i], "%v", err)
				}
				if c.Headers == nil {
					c.Headers = make(map[string]string)
				}
				for prev := range c.Headers {
					if strings.EqualFold(prev, k) {
						return nil, mfErr(hm.Elems[i], "duplicate header %q (header names are case-insensitive)", k)
					}
				}
				c.Headers[k] = v
			}
		case "timeout-ms":
			if c.Timeout, err = mfTimeout(e.v, ":http :timeout-ms"); err != nil {
				return nil, err
			}
		case "output":
			kw, ok := e.v.(*syntax.Keyword)
			if !ok || (kw.Name != HTTPOutputJSON && kw.Name != HTTPOutputText) {
				return nil, mfErr(e.v, ":http :output must be :json or :text")
			}
			c.Output = kw.Name
		}
	}
	if !haveURL {
		return nil, mfErr(n, ":http has no :url")
	}
	return c, nil
}

func parseProgramConfig(n syntax.Node) (*ProgramConfig, error) {
	es, err := mfFields(n, ":program", "path", "args", "timeout-ms")
	if err != nil {
		return nil, err
	}
	c := &ProgramConfig{}
	havePath := false
	for _, e := range es {
		switch e.key {
		case "path":
			if c.Path, err = mfString(e.v, ":program :path"); err != nil {
				return nil, err
			}
			if err := validateProgramPath(c.Path); err != nil {
				return nil, mfErr(e.v, "%v", err)
			}
			havePath = true
		case "args":
			if c.Args, err = mfStrings(e.v, ":program :args", validateArg); err != nil {
				return nil, err
			}
		case "timeout-ms":
			if c.Timeout, err = mfTimeout(e.v, ":program :timeout-ms"); err != nil {
				return nil, err
			}
		}
	}
	if !havePath {
		return nil, mfErr(n, ":program has no :path")
	}
	return c, nil
}

// effectNodes are the value nodes of some :effects keys (nil when
// absent), for the provider consistency checks.
type effectNodes struct {
	exec, network, env syntax.Node
}

// parseEffects fills eff and returns the nodes the provider consistency
// checks point at.
func parseEffects(n syntax.Node, eff *Effects) (nodes effectNodes, err error) {
	es, err := mfFields(n, ":effects", "network", "fs", "exec", "env", "clock", "human", "deterministic", "idempotent")
	if err != nil {
		return nodes, err
	}
	for _, e := range es {
		what := ":effects :" + e.key
		switch e.key {
		case "network":
			if eff.Network, err = mfStrings(e.v, what, validateHostPattern); err != nil {
				return nodes, err
			}
			nodes.network = e.v
		case "fs":
			fs, err := mfFields(e.v, ":effects :fs", "read", "write")
			if err != nil {
				return nodes, err
			}
			for _, f := range fs {
				roots, err := mfStrings(f.v, ":effects :fs :"+f.key, validatePathRoot)
				if err != nil {
					return nodes, err
				}
				if f.key == "read" {
					eff.FSRead = roots
				} else {
					eff.FSWrite = roots
				}
			}
		case "env":
			if eff.Env, err = mfStrings(e.v, what, validateEnvName); err != nil {
				return nodes, err
			}
			nodes.env = e.v
		default:
			b, err := mfBool(e.v, what)
			if err != nil {
				return nodes, err
			}
			switch e.key {
			case "exec":
				eff.Exec, nodes.exec = b, e.v
			case "clock":
				eff.Clock = b
			case "human":
				eff.Human = b
			case "deterministic":
				eff.Deterministic = b
			case "idempotent":
				eff.Idempotent = b
			}
		}
	}
	return nodes, nil
}

func parseProvenance(n syntax.Node, p *Provenance) error {
	es, err := mfFields(n, ":provenance", "source", "content-hash", "registered-at")
	if err != nil {
		return err
	}
	for _, e := range es {
		switch e.key {
		case "source":
			if p.Source, err = mfString(e.v, ":provenance :source"); err != nil {
				return err
			}
		case "content-hash":
			if p.ContentHash, err = mfString(e.v, ":provenance :content-hash"); err != nil {
				return err
			}
		case "registered-at":
			var text string
			switch x := e.v.(type) {
			case *syntax.Timestamp:
				text = x.Text
			case *syntax.String:
				text = x.Value
			default:
				return mfErr(e.v, ":provenance :registered-at must be a timestamp, got %s", mfNodeKind(e.v))
			}
			t, err := time.Parse(time.RFC3339Nano, text)
			if err != nil {
				return mfErr(e.v, ":provenance :registered-at: invalid timestamp %q", text)
			}
			p.RegisteredAt = t.UTC()
		}
	}
	return nil
}

// ---- validation ----

func validateVersion(v string) error {
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("invalid version %q: must be non-empty without spaces (e.g. \"1.0.0\")", v)
	}
	return nil
}

func validateTag(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty tag")
	}
	return nil
}

func validateArg(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("argument contains a NUL byte")
	}
	return nil
}

// validateHostPattern accepts "*", "host", "host:port", "*.domain",
// "*.domain:port" and IP literals ("[::1]:443" for IPv6 with a port).
func validateHostPattern(p string) error {
	if p == "*" {
		return nil
	}
	host, port := splitHostPattern(p)
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("invalid host pattern %q: bad port", p)
		}
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if err := validateHostname(strings.TrimPrefix(host, "*.")); err != nil {
		return fmt.Errorf("invalid host pattern %q: %v", p, err)
	}
	return nil
}

// validateHostname accepts DNS names made of labels of letters, digits,
// '-' and '_', and IP literals.
func validateHostname(h string) error {
	if net.ParseIP(h) != nil {
		return nil
	}
	if h == "" || len(h) > 253 {
		return errors.New("bad host name")
	}
	for lbl := range strings.SplitSeq(h, ".") {
		if lbl == "" || len(lbl) > 63 {
			return errors.New("bad host name label")
		}
		for i := 0; i < len(lbl); i++ {
			c := lbl[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("character %q not allowed in a host name", rune(c))
			}
		}
	}
	return nil
}

// splitHostPattern splits "host:port", "[v6]:port", "v6" and "host".
func splitHostPattern(p string) (host, port string) {
	if h, pt, err := net.SplitHostPort(p); err == nil {
		return h, pt
	}
	if strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]") {
		return p[1 : len(p)-1], ""
	}
	return p, ""
}

// urlHostPort returns "host:port" of an absolute http(s) URL, with the
// scheme's default port when none is written.
func urlHostPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// networkCovers reports whether one of the host patterns allows the host
// of rawURL. This is the manifest honesty check only; the authorizer
// enforces the runtime context on every call.
func networkCovers(patterns []string, rawURL string) bool {
	host, port, err := net.SplitHostPort(urlHostPort(rawURL))
	if err != nil {
		return false
	}
	for _, p := range patterns {
		if p == "*" {
			return true
		}
		ph, pp := splitHostPattern(p)
		if pp != "" && pp != port {
			continue
		}
		ph = strings.ToLower(ph)
		if ph == host {
			return true
		}
		if d, ok := strings.CutPrefix(ph, "*."); ok && (host == d || strings.HasSuffix(host, "."+d)) {
			return true
		}
	}
	return false
}

// validatePathRoot accepts "*" and clean absolute paths.
func validatePathRoot(p string) error {
	if p == "*" {
		return nil
	}
	if strings.IndexByte(p, 0) >= 0 {
		return errors.New("path contains a NUL byte")
	}
	if !filepath.IsAbs(p) {
		return fmt.Errorf("path %q must be absolute (or \"*\")", p)
	}
	if c := filepath.Clean(p); c != p {
		return fmt.Errorf("path %q is not clean (write %q)", p, c)
	}
	return nil
}

// validateEnvName accepts "*" and names made of letters, digits and '_'
// not starting with a digit.
func validateEnvName(s string) error {
	if s == "*" {
		return nil
	}
	if s == "" {
		return errors.New("empty environment variable name")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || i > 0 && '0' <= c && c <= '9') {
			return fmt.Errorf("invalid environment variable name %q", s)
		}
	}
	return nil
}

func validateHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid :url %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid :url %q: scheme must be http or https", raw)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("invalid :url %q: no host", raw)
	}
	if err := validateHostname(u.Hostname()); err != nil {
		return fmt.Errorf("invalid :url %q: %v", raw, err)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("invalid :url %q: bad port", raw)
		}
	}
	if u.Fragment != "" {
		return fmt.Errorf("invalid :url %q: a fragment is not allowed", raw)
	}
	return nil
}

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

func validateMethod(m string) error {
	if !slices.Contains(httpMethods, m) {
		return fmt.Errorf("invalid :method %q (one of %s)", m, strings.Join(httpMethods, " "))
	}
	return nil
}

func validateHeader(k, v string) error {
	if k == "" {
		return errors.New("empty header name")
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return fmt.Errorf("invalid header name %q", k)
		}
	}
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Errorf("header %q: value contains a line break or NUL", k)
	}
	return nil
}

func validateProgramPath(p string) error {
	if p == "" {
		return errors.New(":program :path is empty")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return errors.New(":program :path contains a NUL byte")
	}
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return fmt.Errorf(":program :path %q must be a clean absolute path", p)
	}
	return nil
}

// Validate checks a manifest built in Go (or parsed): the id syntax, a
// known provider with exactly its configuration, valid configuration
// values and effect patterns, and the effects the provider implies
// (:program needs Exec, :http needs Network covering its URL, :wasm
// allows no Network, Exec or Env).
func (m *Manifest) Validate() error {
	if err := ValidateID(m.ID); err != nil {
		return err
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("capability %s: %s", m.ID, fmt.Sprintf(format, args...))
	}
	if m.Version != "" {
		if err := validateVersion(m.Version); err != nil {
			return fail("%v", err)
		}
	}
	for _, t := range m.Tags {
		if err := validateTag(t); err != nil {
			return fail("%v", err)
		}
	}
	for _, p := range m.Effects.Network {
		if err := validateHostPattern(p); err != nil {
			return fail("%v", err)
		}
	}
	for _, p := range slices.Concat(m.Effects.FSRead, m.Effects.FSWrite) {
		if err := validatePathRoot(p); err != nil {
			return fail("%v", err)
		}
	}
	for _, e := range m.Effects.Env {
		if err := validateEnvName(e); err != nil {
			return fail("%v", err)
		}
	}
	switch m.Provider {
	case ProviderLocal:
		if m.HTTP != nil || m.Program != nil || m.WASM != nil {
			return fail("a local capability has no :http, :program or :wasm configuration")
		}
	case ProviderHTTP:
		if m.Program != nil || m.WASM != nil {
			return fail("an http capability has no :program or :wasm configuration")
		}
		c := m.HTTP
		if c == nil {
			return fail("provider http needs an HTTP configuration")
		}
		if err := validateHTTPURL(c.URL); err != nil {
			return fail("%v", err)
		}
		if c.Method != "" {
			if err := validateMethod(c.Method); err != nil {
				return fail("%v", err)
			}
		}
		for k, v := range c.Headers {
			if err := validateHeader(k, v); err != nil {
				return fail("%v", err)
			}
		}
		if c.Timeout < 0 || c.Timeout > MaxTimeout {
			return fail("http timeout %v out of range", c.Timeout)
		}
		if c.Output != HTTPOutputAuto && c.Output != HTTPOutputJSON && c.Output != HTTPOutputText {
			return fail("invalid http output mode %q", c.Output)
		}
		if !networkCovers(m.Effects.Network, c.URL) {
			return fail("effects network %q do not cover the URL host %s", m.Effects.Network, urlHostPort(c.URL))
		}
	case ProviderProgram:
		if m.HTTP != nil || m.WASM != nil {
			return fail("a program capability has no :http or :wasm configuration")
		}
		c := m.Program
		if c == nil {
			return fail("provider program needs a program configuration")
		}
		if err := validateProgramPath(c.Path); err != nil {
			return fail("%v", err)
		}
		for _, a := range c.Args {
			if err := validateArg(a); err != nil {
				return fail("%v", err)
			}
		}
		if c.Timeout < 0 || c.Timeout > MaxTimeout {
			return fail("program timeout %v out of range", c.Timeout)
		}
		if !m.Effects.Exec {
			return fail("a program capability runs a program: effects exec must be true")
		}
	case ProviderWASM:
		if m.HTTP != nil || m.Program != nil {
			return fail("a wasm capability has no :http or :program configuration")
		}
		if err := m.validateWASM(); err != nil {
			return fail("%v", err)
		}
	case "":
		return fail("no provider")
	default:
		return fail("unsupported provider %q", m.Provider)
	}
	return nil
}

// ---- printing ----

// timestampLayout is the RTFS timestamp literal form (millisecond
// precision, UTC).
const timestampLayout = "2006-01-02T15:04:05.000Z"

// ToValue returns the manifest as the map form ParseManifests reads, with
// :provenance {:source :content-hash :registered-at} when any of those is
// set. Keys appear in a fixed order; effects and hints are written in
// full. value.Repr of the result parses back to an equal manifest (the
// registration time is kept to the millisecond).
func (m *Manifest) ToValue() value.Value {
	kw := func(s string) value.Value { return value.Keyword(s) }
	strs := func(ss []string) value.Value {
		out := make([]value.Value, len(ss))
		for i, s := range ss {
			out[i] = value.String(s)
		}
		return value.NewVector(out...)
	}
	ms := func(d time.Duration) value.Value { return value.Int(d.Milliseconds()) }
	b := value.NewMapBuilder()
	b.Assoc(kw("id"), value.String(m.ID))
	if m.Version != "" {
		b.Assoc(kw("version"), value.String(m.Version))
	}
	if m.Description != "" {
		b.Assoc(kw("description"), value.String(m.Description))
	}
	if m.Provider != "" {
		b.Assoc(kw("provider"), kw(m.Provider))
	}
	if c := m.HTTP; c != nil {
		h := value.NewMapBuilder()
		h.Assoc(kw("url"), value.String(c.URL))
		method := c.Method
		if method == "" {
			method = "GET"
		}
		h.Assoc(kw("method"), value.String(method))
		if len(c.Headers) > 0 {
			names := make([]string, 0, len(c.Headers))
			for k := range c.Headers {
				names = append(names, k)
			}
			slices.Sort(names)
			hs := value.NewMapBuilder()
			for _, k := range names {
				hs.Assoc(value.String(k), value.String(c.Headers[k]))
			}
			h.Assoc(kw("headers"), hs.Map())
		}
		if c.Timeout > 0 {
			h.Assoc(kw("timeout-ms"), ms(c.Timeout))
		}
		if c.Output != "" {
			h.Assoc(kw("output"), kw(c.Output))
		}
		b.Assoc(kw("http"), h.Map())
	}
	if c := m.Program; c != nil {
		p := value.NewMapBuilder()
		p.Assoc(kw("path"), value.String(c.Path))
		if len(c.Args) > 0 {
			p.Assoc(kw("args"), strs(c.Args))
		}
		if c.Timeout > 0 {
			p.Assoc(kw("timeout-ms"), ms(c.Timeout))
		}
		b.Assoc(kw("program"), p.Map())
	}
	if c := m.WASM; c != nil {
		w := value.NewMapBuilder()
		w.Assoc(kw("path"), value.String(c.Path))
		w.Assoc(kw("sha256"), value.String(c.SHA256))
		if c.MemoryMB > 0 {
			w.Assoc(kw("memory-mb"), value.Int(c.MemoryMB))
		}
		if c.Timeout > 0 {
			w.Assoc(kw("timeout-ms"), ms(c.Timeout))
		}
		b.Assoc(kw("wasm"), w.Map())
	}
	if m.Input != nil {
		b.Assoc(kw("input-schema"), m.Input.ToValue())
	}
	if m.Output != nil {
		b.Assoc(kw("output-schema"), m.Output.ToValue())
	}
	e := &m.Effects
	b.Assoc(kw("effects"), value.NewMap(
		kw("network"), strs(e.Network),
		kw("fs"), value.NewMap(kw("read"), strs(e.FSRead), kw("write"), strs(e.FSWrite)),
		kw("exec"), value.Bool(e.Exec),
		kw("env"), strs(e.Env),
		kw("clock"), value.Bool(e.Clock),
		kw("human"), value.Bool(e.Human),
		kw("deterministic"), value.Bool(e.Deterministic),
		kw("idempotent"), value.Bool(e.Idempotent),
	))
	hints := value.NewMap(
		kw("compute-heavy"), value.Bool(m.Hints.ComputeHeavy),
		kw("download"), value.Bool(m.Hints.Download),
	)
	if m.Hints.Cost > 0 {
		hints = hints.Assoc(kw("cost"), value.Float(m.Hints.Cost))
	}
	b.Assoc(kw("hints"), hints)
	if len(m.Tags) > 0 {
		b.Assoc(kw("tags"), strs(m.Tags))
	}
	if p := m.Provenance; p != (Provenance{}) {
		pv := value.NewMapBuilder()
		if p.Source != "" {
			pv.Assoc(kw("source"), value.String(p.Source))
		}
		if p.ContentHash != "" {
			pv.Assoc(kw("content-hash"), value.String(p.ContentHash))
		}
		if !p.RegisteredAt.IsZero() {
			pv.Assoc(kw("registered-at"), value.Timestamp(p.RegisteredAt.UTC().Format(timestampLayout)))
		}
		b.Assoc(kw("provenance"), pv.Map())
	}
	return b.Map()
}

// String returns the manifest's RTFS text (value.Repr of ToValue).
func (m *Manifest) String() string { return value.Repr(m.ToValue()) }
