package syntax

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func allHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if hexVal(rune(s[i])) < 0 {
			return false
		}
	}
	return true
}

// isUUID reports whether s has the 8-4-4-4-12 hex shape of a UUID.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if hexVal(rune(s[i])) < 0 {
				return false
			}
		}
	}
	return true
}

// looksLikeTimestamp reports whether s starts with a date (dddd-dd-dd), so
// that a malformed timestamp is reported as such rather than as a number.
func looksLikeTimestamp(s string) bool {
	return len(s) >= 10 && allDigits(s[0:4]) && s[4] == '-' && allDigits(s[5:7]) && s[7] == '-' && allDigits(s[8:10])
}

// validTimestamp checks the exact shape dddd-dd-ddTdd:dd:dd[.ddd]Z and that
// the fields are in range.
func validTimestamp(s string) bool {
	if len(s) != 20 && len(s) != 24 {
		return false
	}
	shape := "dddd-dd-ddTdd:dd:ddZ"
	if len(s) == 24 {
		shape = "dddd-dd-ddTdd:dd:dd.dddZ"
	}
	for i := 0; i < len(s); i++ {
		if shape[i] == 'd' {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		} else if s[i] != shape[i] {
			return false
		}
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// isFloatShape reports whether s (without sign) is digits, an optional
// fraction and an optional exponent, with at least one of the latter two.
func isFloatShape(s string) bool {
	i := 0
	for i < len(s) && isDigit(rune(s[i])) {
		i++
	}
	if i == 0 {
		return false
	}
	frac, exp := false, false
	if i < len(s) && s[i] == '.' {
		frac = true
		i++
		for i < len(s) && isDigit(rune(s[i])) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		exp = true
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && isDigit(rune(s[i])) {
			i++
		}
		if i == j {
			return false
		}
	}
	return i == len(s) && (frac || exp)
}

// parseNumber converts a numeric token. On failure it returns a message.
func parseNumber(at Pos, tok string) (Node, string) {
	body := tok
	neg := false
	if body != "" && (body[0] == '+' || body[0] == '-') {
		neg = body[0] == '-'
		body = body[1:]
	}
	switch {
	case strings.HasPrefix(body, "0x") || strings.HasPrefix(body, "0X"):
		digits := body[2:]
		if !allHex(digits) {
			return nil, "invalid hexadecimal number " + abbrev(tok)
		}
		u, err := strconv.ParseUint(digits, 16, 64)
		switch {
		case err != nil:
		case neg && u <= 1<<63:
			return &Int{At: at, Value: int64(-u)}, ""
		case !neg && u <= math.MaxInt64:
			return &Int{At: at, Value: int64(u)}, ""
		}
		return nil, "integer " + abbrev(tok) + " does not fit in 64 bits"
	case allDigits(body):
		if len(body) > 1 && body[0] == '0' {
			return nil, "invalid number " + abbrev(tok) + ": leading zeros are not allowed (octal is not supported)"
		}
		v, err := strconv.ParseInt(tok, 10, 64)
		if err != nil {
			return nil, "integer " + abbrev(tok) + " does not fit in 64 bits"
		}
		return &Int{At: at, Value: v}, ""
	case isFloatShape(body):
		v, err := strconv.ParseFloat(tok, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) && !math.IsInf(v, 0) {
				// Underflow: the nearest float (0 or a denormal) is the value.
				return &Float{At: at, Value: v}, ""
			}
			return nil, "float " + abbrev(tok) + " is out of range"
		}
		return &Float{At: at, Value: v}, ""
	}
	if num, den, ok := strings.Cut(body, "/"); ok && allDigits(num) && allDigits(den) {
		return nil, "ratios such as 1/2 are not supported; use a float such as 0.5 or (/ 1 2)"
	}
	return nil, "invalid number " + abbrev(tok)
}
