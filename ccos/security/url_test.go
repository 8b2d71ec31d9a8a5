package security

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw    string
		scheme string
		host   string
		port   int
		ip     bool
	}{
		{"http://example.com/", "http", "example.com", 80, false},
		{"https://example.com", "https", "example.com", 443, false},
		{"ws://example.com/sock", "ws", "example.com", 80, false},
		{"wss://example.com/sock", "wss", "example.com", 443, false},
		{"HTTPS://API.Example.COM:8443/x?y#z", "https", "api.example.com", 8443, false},
		{"http://example.com./", "http", "example.com", 80, false},
		{"http://Example.Com.:80/", "http", "example.com", 80, false},
		{"http://bücher.example/", "http", "xn--bcher-kva.example", 80, false},
		{"http://BÜCHER.example/", "http", "xn--bcher-kva.example", 80, false},
		{"http://xn--BCHER-kva.example/", "http", "xn--bcher-kva.example", 80, false},
		{"http://b%C3%BCcher.example/", "http", "xn--bcher-kva.example", 80, false},
		{"http://ｅｘａｍｐｌｅ.com/", "http", "example.com", 80, false}, // fullwidth
		{"http://example。com/", "http", "example.com", 80, false}, // ideographic full stop
		{"http://r3---sn-abc.googlevideo.com/", "http", "r3---sn-abc.googlevideo.com", 80, false},
		{"http://a_b.example/", "http", "a_b.example", 80, false},
		{"http://127.0.0.1:8080/", "http", "127.0.0.1", 8080, true},
		{"http://[::1]/", "http", "::1", 80, true},
		{"http://[::1]:8080/", "http", "::1", 8080, true},
		{"http://[2001:DB8:0:0::1]/", "http", "2001:db8::1", 80, true},
		{"http://[::ffff:127.0.0.1]/", "http", "127.0.0.1", 80, true},
		{"http://[::ffff:7f00:1]/", "http", "127.0.0.1", 80, true},
		{"http://api.example.com@evil.com/", "http", "evil.com", 80, false},
		{"http://user:pass@example.com:81/", "http", "example.com", 81, false},
		{"http://a@b@evil.com/", "http", "evil.com", 80, false},
		{"http://example.com:/", "http", "example.com", 80, false},
		{"http://example.com:0080/", "http", "example.com", 80, false},
		{"http://0x7f.example.com/", "http", "0x7f.example.com", 80, false},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.raw)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.raw, err)
			continue
		}
		want := URLTarget{tt.scheme, tt.host, tt.port, tt.ip}
		if *got != want {
			t.Errorf("ParseURL(%q) = %+v, want %+v", tt.raw, *got, want)
		}
	}
}

func TestParseURLRejects(t *testing.T) {
	for _, raw := range []string{
		"",
		"example.com",
		"/relative/path",
		"//example.com/",
		"ftp://example.com/",
		"file:///etc/passwd",
		"javascript:alert(1)",
		"http:example.com",
		"http:///path",
		"http://:80/",
		"http://example.com:0/",
		"http://example.com:65536/",
		"http://example.com:99999/",
		"http://exa mple.com/",
		"http://example..com/",
		"http://.example.com/",
		"http://example.com../",
		"http://*.example.com/",
		"http://ex!ample.com/",
		"http://evil.com\\@good.com/",
		"http://evil.com\\.good.com/",
		"http://[::1%25eth0]/",
		"http://[1.2.3.4]/",
		"http://[::1/",
		// Odd IPv4 spellings that other parsers read as 127.0.0.1.
		"http://0x7f.1/",
		"http://0x7f000001/",
		"http://2130706433/",
		"http://127.1/",
		"http://127.0.1/",
		"http://0177.0.0.1/",
		"http://127.0.0.01/",
		"http://0x7f.0x0.0x0.0x1/",
		"http://127.0.0.1.1/",
		"http://1.2.3.256/",
		"http://example.123/",
		"http://x.127.0.0.1/",
		"http://example.0x1f/",
		"http://xn--a.example/",    // invalid punycode
		"http://xn--abc-.example/", // ASCII-only punycode label
		"http://" + strings.Repeat("a", 64) + ".example/",
		"http://" + strings.Repeat("abcdefghi.", 26) + "example/",
	} {
		if got, err := ParseURL(raw); err == nil {
			t.Errorf("ParseURL(%q) = %+v, want error", raw, *got)
		}
	}
}

func TestParseURLErrorHidesCredentials(t *testing.T) {
	_, err := ParseURL("http://user:s3cret pw@example.com/")
	if err == nil {
		t.Fatal("want error")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestMatchHost(t *testing.T) {
	tests := []struct {
		pattern, url string
		want         bool
	}{
		{"*", "http://anything.example/", true},
		{"*", "http://[::1]:9/", true},
		{"*:443", "https://x.example/", true},
		{"*:443", "http://x.example/", false},
		{"example.com", "http://example.com/", true},
		{"example.com", "https://example.com:8443/", true},
		{"example.com", "http://EXAMPLE.COM./", true},
		{"EXAMPLE.com.", "http://example.com/", true},
		{"example.com", "http://www.example.com/", false},
		{"example.com", "http://example.com.evil.com/", false},
		{"example.com", "http://evilexample.com/", false},
		{"example.com:443", "https://example.com/", true},
		{"example.com:443", "http://example.com/", false},
		{"example.com:443", "https://example.com:444/", false},
		{"*.example.com", "http://api.example.com/", true},
		{"*.example.com", "http://a.b.example.com/", true},
		{"*.example.com", "http://example.com/", false},
		{"*.example.com", "http://badexample.com/", false},
		{"*.example.com:443", "https://api.example.com/", true},
		{"*.example.com:443", "http://api.example.com/", false},
		{"bücher.example", "http://xn--bcher-kva.example/", true},
		{"xn--bcher-kva.example", "http://BÜCHER.example/", true},
		{"*.bücher.example", "http://www.xn--bcher-kva.example/", true},
		{"api.example.com", "http://api.example.com@evil.com/", false},
		{"api.example.com", "http://evil.com#@api.example.com/", false},
		{"api.example.com", "http://evil.com?@api.example.com/", false},
		{"127.0.0.1", "http://127.0.0.1/", true},
		{"127.0.0.1", "http://[::ffff:127.0.0.1]/", true},
		{"::ffff:127.0.0.1", "http://127.0.0.1/", true},
		{"127.0.0.1:8080", "http://127.0.0.1:8080/", true},
		{"127.0.0.1:8080", "http://127.0.0.1/", false},
		{"::1", "http://[::1]/", true},
		{"[::1]", "http://[0:0::1]:81/", true},
		{"[::1]:8080", "http://[::1]:8080/", true},
		{"[::1]:8080", "http://[::1]:8081/", false},
		{"2001:db8::1", "http://[2001:DB8::0001]/", true},
		{"10.0.0.0/8", "http://10.1.2.3/", true},
		{"10.0.0.0/8", "http://11.1.2.3/", false},
		{"10.0.0.0/8", "http://ten.example/", false},
		{"127.0.0.0/8", "http://[::ffff:127.0.0.2]/", true},
		{"::ffff:127.0.0.0/104", "http://127.9.9.9/", true},
		{"fd00::/8", "http://[fd12::1]/", true},
		{"*.127.0.0.1", "http://127.0.0.1/", false}, // malformed pattern
		{"ex*ample.com", "http://example.com/", false},
		{"", "http://example.com/", false},
		{"example.com:", "http://example.com/", false},
	}
	for _, tt := range tests {
		target, err := ParseURL(tt.url)
		if err != nil {
			t.Fatalf("ParseURL(%q): %v", tt.url, err)
		}
		if got := MatchHost(tt.pattern, target); got != tt.want {
			t.Errorf("MatchHost(%q, %q) = %v, want %v", tt.pattern, tt.url, got, tt.want)
		}
	}
	if MatchHost("*", nil) {
		t.Error("MatchHost with nil target matched")
	}
}

func TestCheckURL(t *testing.T) {
	ctl := &Context{Name: "t", Level: Controlled, Isolations: []Isolation{Isolated},
		AllowHosts: []string{"api.example.com", "*.cdn.example", "127.0.0.1:8080"},
		DenyHosts:  []string{"bad.cdn.example"}}
	full := &Context{Level: Full, Isolations: []Isolation{Inherit},
		DenyHosts: []string{"127.0.0.0/8", "::1", "169.254.169.254"}}
	fullRestricted := &Context{Level: Full, Isolations: []Isolation{Inherit},
		AllowHosts: []string{"example.org"}}
	pure := &Context{Level: Pure, AllowHosts: []string{"*"}}
	none := &Context{Level: Controlled, Isolations: []Isolation{Isolated}}
	tests := []struct {
		ctx  *Context
		url  string
		want bool
	}{
		{ctl, "https://api.example.com/v1", true},
		{ctl, "https://API.EXAMPLE.COM./v1", true},
		{ctl, "https://api.example.com@evil.com/", false},
		{ctl, "https://user:pw@api.example.com/", true},
		{ctl, "https://www.example.com/", false},
		{ctl, "https://img.cdn.example/", true},
		{ctl, "https://cdn.example/", false},
		{ctl, "https://bad.cdn.example/", false},
		{ctl, "https://BAD.cdn.example./", false},
		{ctl, "http://127.0.0.1:8080/", true},
		{ctl, "http://127.0.0.1/", false},
		{ctl, "http://0x7f.1:8080/", false},
		{ctl, "ftp://api.example.com/", false},
		{ctl, "not a url", false},
		{full, "https://anything.example/", true},
		{full, "http://127.0.0.1/", false},
		{full, "http://127.1/", false},
		{full, "http://2130706433/", false},
		{full, "http://0x7f.0.0.1/", false},
		{full, "http://0177.0.0.1/", false},
		{full, "http://[::ffff:127.0.0.1]/", false},
		{full, "http://[::1]/", false},
		{full, "http://169.254.169.254/latest/meta-data", false},
		{fullRestricted, "https://example.org/", true},
		{fullRestricted, "https://example.com/", false},
		{pure, "https://example.com/", false},
		{none, "https://example.com/", false},
	}
	for _, tt := range tests {
		target, err := tt.ctx.CheckURL(tt.url)
		if got := err == nil; got != tt.want {
			t.Errorf("%s CheckURL(%q) = %v, %v; want allowed=%v", tt.ctx.Level, tt.url, target, err, tt.want)
			continue
		}
		if err != nil {
			var v *Violation
			if !errors.As(err, &v) || v.Kind != "host" {
				t.Errorf("CheckURL(%q) error %v is not a host *Violation", tt.url, err)
			}
		} else if target == nil {
			t.Errorf("CheckURL(%q) returned nil target", tt.url)
		}
	}
}

func TestCheckURLViolationHidesCredentials(t *testing.T) {
	c := &Context{Level: Controlled, Isolations: []Isolation{Isolated}}
	for _, raw := range []string{"https://alice:s3cret@api.example.com/", "https://alice:s3cret pw@api.example.com/"} {
		_, err := c.CheckURL(raw)
		if err == nil {
			t.Fatalf("CheckURL(%q) allowed", raw)
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "alice") {
			t.Errorf("violation leaks userinfo: %v", err)
		}
	}
}

func TestHostPatternCovers(t *testing.T) {
	tests := []struct {
		parent, child string
		want          bool
	}{
		{"*", "example.com", true},
		{"*", "*", true},
		{"example.com", "*", false},
		{"example.com", "example.com", true},
		{"example.com", "EXAMPLE.com.", true},
		{"example.com", "example.com:443", true},
		{"example.com:443", "example.com", false},
		{"example.com:443", "example.com:443", true},
		{"example.com", "api.example.com", false},
		{"*.example.com", "api.example.com", true},
		{"*.example.com", "api.example.com:8080", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "*.example.com", true},
		{"*.example.com", "*.a.example.com", true},
		{"*.a.example.com", "*.example.com", false},
		{"*.example.com:443", "api.example.com", false},
		{"*:443", "example.com:443", true},
		{"*:443", "example.com", false},
		{"10.0.0.0/8", "10.1.0.0/16", true},
		{"10.1.0.0/16", "10.0.0.0/8", false},
		{"10.0.0.0/8", "10.2.3.4", true},
		{"10.0.0.0/8", "ten.example", false},
		{"10.2.3.4", "10.2.3.4/32", true},
		{"10.2.3.4", "10.2.3.0/24", false},
		{"::1", "[::1]:8080", true},
		{"bad pattern", "example.com", false},
	}
	for _, tt := range tests {
		if got := hostPatternCovers(tt.parent, tt.child); got != tt.want {
			t.Errorf("hostPatternCovers(%q, %q) = %v, want %v", tt.parent, tt.child, got, tt.want)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"http://example.com/", "https://API.Example.com.:8443/x", "http://bücher.example/",
		"http://[::1]:8080/", "http://[::ffff:127.0.0.1]/", "http://127.0.0.1/", "http://0x7f.1/",
		"http://api.example.com@evil.com/", "ws://a_b.example/", "wss://xn--bcher-kva.example/",
		"http://example。com/", "http://ｅｘａｍｐｌｅ.com/", "http://r3---sn.x/", "http://10.0.0.1:65535/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tg, err := ParseURL(raw)
		if err != nil {
			return
		}
		h := tg.Host
		if h == "" || strings.HasSuffix(h, ".") {
			t.Fatalf("ParseURL(%q): bad host %q", raw, h)
		}
		for i := 0; i < len(h); i++ {
			if h[i] >= 0x80 || (h[i] >= 'A' && h[i] <= 'Z') {
				t.Fatalf("ParseURL(%q): host %q is not lowercase ASCII", raw, h)
			}
		}
		if tg.Port < 1 || tg.Port > 65535 {
			t.Fatalf("ParseURL(%q): port %d", raw, tg.Port)
		}
		if !MatchHost(h, tg) {
			t.Fatalf("ParseURL(%q): MatchHost(%q, target) is false", raw, h)
		}
		if !MatchHost(tg.HostPort(), tg) {
			t.Fatalf("ParseURL(%q): MatchHost(%q, target) is false", raw, tg.HostPort())
		}
		again, err := ParseURL(tg.String())
		if err != nil || *again != *tg {
			t.Fatalf("ParseURL(%q) = %+v, but its String %q parses to %+v, %v", raw, *tg, tg.String(), again, err)
		}
	})
}
