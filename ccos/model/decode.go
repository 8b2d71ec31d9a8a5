package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// The Decode functions parse the canonical encodings written by
// EncodeAction, EncodeIntent, EncodeEdge and EncodePlan back into
// model objects, exactly: encoding a decoded object gives back the same
// bytes, so HashAction of an untouched decoded action reproduces its
// stored hash. Unknown or repeated fields and unknown encoding versions
// are errors.

func (r *reader) version() {
	if v := r.int64(); r.err == nil && v != EncodingVersion {
		r.fail("unsupported encoding version %d", v)
	}
}

func (r *reader) time() time.Time {
	s := r.str()
	if r.err != nil {
		return time.Time{}
	}
	if t, ok := parseTimeFast(s); ok {
		return t
	}
	t, err := ParseTime(s)
	if err != nil {
		r.fail("time %q: %v", s, err)
	}
	return t
}

// parseTimeFast parses the layout of FormatTime
// ("2006-01-02T15:04:05.000Z") without time.Parse; it reports false for
// anything it does not fully validate, leaving the error to ParseTime.
func parseTimeFast[T string | []byte](s T) (time.Time, bool) {
	if len(s) != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 2)
	d, ok3 := num(8, 2)
	h, ok4 := num(11, 2)
	mi, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	ms, ok7 := num(20, 3)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ms*int(time.Millisecond), time.UTC)
	if t.Day() != d { // day beyond the month's length
		return time.Time{}, false
	}
	return t, true
}

// actionTypes interns the known action type names.
var actionTypes = func() map[string]ActionType {
	m := make(map[string]ActionType, len(ActionTypes))
	for _, t := range ActionTypes {
		m[string(t)] = t
	}
	return m
}()

// DecodeAction parses the canonical encoding of an action (as written by
// EncodeAction).
func DecodeAction(b []byte) (*Action, error) {
	r := &reader{b: b}
	a := &Action{}
	var haveV, haveTS bool
	r.object(func(k string) {
		switch k {
		case "v":
			r.version()
			haveV = true
		case "seq":
			a.Seq = r.uint64()
		case "action_id":
			a.ActionID = r.str()
		case "parent_action_id":
			a.ParentActionID = r.str()
		case "run_id":
			a.RunID = r.str()
		case "plan_id":
			a.PlanID = r.str()
		case "intent_id":
			a.IntentID = r.str()
		case "type":
			a.Type = r.actionType()
		case "name":
			a.Name = r.str()
		case "args":
			a.Args = r.value(0)
		case "result":
			res := &Result{}
			r.object(func(k string) {
				switch k {
				case "success":
					res.Success = r.bool()
				case "value":
					res.Value = r.value(0)
				case "error":
					e := &ErrorInfo{}
					r.object(func(k string) {
						switch k {
						case "type":
							e.Type = r.str()
						case "message":
							e.Message = r.str()
						case "data":
							e.Data = r.value(0)
						default:
							r.fail("unknown result error field %q", k)
						}
					})
					res.Error = e
				default:
					r.fail("unknown result field %q", k)
				}
			})
			a.Result = res
		case "cost":
			a.Cost = r.floatValue("cost")
		case "duration_ms":
			d := r.int64()
			a.DurationMs = &d
		case "timestamp":
			a.Timestamp = r.time()
			haveTS = true
		case "metadata":
			a.Metadata = r.mapValue("metadata")
		case "prev_hash":
			a.PrevHash = r.str()
		case "hash":
			a.Hash = r.str()
		default:
			r.fail("unknown field %q", k)
		}
	})
	r.end()
	if r.err == nil && (!haveV || !haveTS) {
		r.fail("missing v or timestamp")
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode action: %w", r.err)
	}
	return a, nil
}

// DecodeIntent parses the canonical encoding of an intent (as written by
// EncodeIntent).
func DecodeIntent(b []byte) (*Intent, error) {
	r := &reader{b: b}
	in := &Intent{}
	haveV := false
	r.object(func(k string) {
		switch k {
		case "v":
			r.version()
			haveV = true
		case "intent_id":
			in.ID = r.str()
		case "name":
			in.Name = r.str()
		case "original_request":
			in.OriginalRequest = r.str()
		case "goal":
			in.Goal = r.str()
		case "constraints":
			in.Constraints = r.mapValue(k)
		case "preferences":
			in.Preferences = r.mapValue(k)
		case "success_criteria":
			in.SuccessCriteria = r.str()
		case "status":
			in.Status = IntentStatus(r.str())
		case "priority":
			in.Priority = r.int64()
		case "parent_intent":
			in.ParentIntent = r.str()
		case "triggered_by":
			in.TriggeredBy = TriggerSource(r.str())
		case "generation_context":
			in.GenerationContext = r.mapValue(k)
		case "created_at":
			in.CreatedAt = r.time()
		case "updated_at":
			in.UpdatedAt = r.time()
		case "metadata":
			in.Metadata = r.mapValue(k)
		case "source":
			in.Source = r.str()
		default:
			r.fail("unknown field %q", k)
		}
	})
	r.end()
	if r.err == nil && !haveV {
		r.fail("missing v")
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode intent: %w", r.err)
	}
	return in, nil
}

// DecodeEdge parses the canonical encoding of an intent edge (as written
// by EncodeEdge).
func DecodeEdge(b []byte) (*IntentEdge, error) {
	r := &reader{b: b}
	e := &IntentEdge{}
	haveV := false
	r.object(func(k string) {
		switch k {
		case "v":
			r.version()
			haveV = true
		case "from":
			e.From = r.str()
		case "to":
			e.To = r.str()
		case "type":
			e.Type = EdgeType(r.str())
		case "weight":
			e.Weight = r.floatValue(k)
		case "metadata":
			e.Metadata = r.mapValue(k)
		default:
			r.fail("unknown field %q", k)
		}
	})
	r.end()
	if r.err == nil && !haveV {
		r.fail("missing v")
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode edge: %w", r.err)
	}
	return e, nil
}

// DecodePlan parses the canonical encoding of a plan (as written by
// EncodePlan).
func DecodePlan(b []byte) (*Plan, error) {
	r := &reader{b: b}
	p := &Plan{}
	haveV := false
	r.object(func(k string) {
		switch k {
		case "v":
			r.version()
			haveV = true
		case "plan_id":
			p.ID = r.str()
		case "name":
			p.Name = r.str()
		case "intent_ids":
			p.IntentIDs = r.strings(k)
		case "language":
			p.Language = r.str()
		case "body":
			p.Body = r.str()
		case "input_schema":
			p.InputSchema = r.value(0)
		case "output_schema":
			p.OutputSchema = r.value(0)
		case "policies":
			p.Policies = r.mapValue(k)
		case "capabilities_required":
			p.CapabilitiesRequired = r.strings(k)
		case "annotations":
			p.Annotations = r.mapValue(k)
		case "created_at":
			p.CreatedAt = r.time()
		case "status":
			p.Status = PlanStatus(r.str())
		default:
			r.fail("unknown field %q", k)
		}
	})
	r.end()
	if r.err == nil && !haveV {
		r.fail("missing v")
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode plan: %w", r.err)
	}
	return p, nil
}

// result checks a canonical result object (as appendAction writes it).
func (c *canon) result() bool {
	if !c.next('{') {
		return false
	}
	if c.lit(`"error":{`) {
		if c.lit(`"data":`) {
			if c.lit("null") || !c.value(1) || !c.next(',') {
				return false
			}
		}
		if !c.lit(`"message":`) {
			return false
		}
		if _, ok := c.str(false); !ok || !c.lit(`,"type":`) {
			return false
		}
		if _, ok := c.str(false); !ok || !c.lit(`},`) {
			return false
		}
	}
	if !c.lit(`"success":`) || !(c.lit("true") || c.lit("false")) {
		return false
	}
	if c.lit(`,"value":`) && (c.lit("null") || !c.value(1)) {
		return false
	}
	return c.next('}')
}

// Top-level action fields, as bits for spotting repeated keys.
const (
	fActionID = 1 << iota
	fArgs
	fCost
	fDuration
	fHash
	fIntentID
	fMetadata
	fName
	fParentActionID
	fPlanID
	fPrevHash
	fResult
	fRunID
	fSeq
	fTimestamp
	fType
	fV
)

// HashStoredAction returns what HashAction returns for the action a
// store hands out for a stored row: the body decoded by DecodeAction with
// the indexed columns laid over it (cols.Seq, ActionID, ParentActionID,
// RunID, PlanID, IntentID, Type, Name, PrevHash; cols.Timestamp, which
// must have millisecond precision), without decoding the RTFS values: the
// fields that do not come from the columns are hashed as stored. This is
// exact only for bodies whose non-column fields are in canonical form, so
// ok is false for anything else (and for bodies DecodeAction rejects), and
// the caller must decode, overlay and HashAction instead. buf is scratch
// space (may be nil); the possibly grown buffer is returned for reuse.
func HashStoredAction(body []byte, cols *Action, buf []byte) (hash string, ok bool, out []byte) {
	c := &canon{b: body}
	var args, cost, dur, meta, res, ts []byte
	var tsMs int64
	if !c.next('{') || c.next('}') {
		return "", false, buf
	}
	var seen uint32
	for {
		key, ok := c.plain()
		if !ok || !c.next(':') {
			return "", false, buf
		}
		var bit uint32
		start := c.i
		switch string(key) {
		case "action_id":
			bit = fActionID
		case "hash":
			bit = fHash
		case "intent_id":
			bit = fIntentID
		case "name":
			bit = fName
		case "parent_action_id":
			bit = fParentActionID
		case "plan_id":
			bit = fPlanID
		case "prev_hash":
			bit = fPrevHash
		case "run_id":
			bit = fRunID
		case "type":
			bit = fType
		case "seq":
			bit = fSeq
			ok = c.uint()
		case "v":
			bit = fV
			ok = c.lit("1") && !(c.i < len(c.b) && numberByte(c.b[c.i]))
		case "timestamp":
			bit = fTimestamp
			var t time.Time
			if ts, ok = c.plain(); ok {
				t, ok = parseTimeFast(ts)
				tsMs = t.UnixMilli()
			}
		case "args":
			bit = fArgs
			ok = !c.lit("null") && c.value(0)
			args = body[start:c.i]
		case "cost":
			bit = fCost
			ok = c.lit(`{"$float":`) && c.float() && c.next('}')
			cost = body[start:c.i]
		case "duration_ms":
			bit = fDuration
			ok = c.int() && !(c.i < len(c.b) && numberByte(c.b[c.i]))
			dur = body[start:c.i]
		case "metadata":
			bit = fMetadata
			ok = bytes.HasPrefix(body[start:], []byte(`{"$map":`)) && c.value(0)
			meta = body[start:c.i]
		case "result":
			bit = fResult
			ok = c.result()
			res = body[start:c.i]
		default:
			return "", false, buf
		}
		if bit&(fActionID|fHash|fIntentID|fName|fParentActionID|fPlanID|fPrevHash|fRunID|fType) != 0 {
			// Overlaid by the columns: only needs to decode.
			_, ok = c.str(false)
		}
		if !ok || seen&bit != 0 {
			return "", false, buf
		}
		seen |= bit
		if c.next('}') {
			break
		}
		if !c.next(',') {
			return "", false, buf
		}
	}
	if c.i != len(body) || seen&(fV|fTimestamp) != fV|fTimestamp {
		return "", false, buf
	}
	// appendAction of the overlaid action, field for field.
	a := cols
	str := func(buf []byte, key, s string) []byte {
		if s == "" {
			return buf
		}
		buf = append(buf, ',', '"')
		buf = append(buf, key...)
		buf = append(buf, '"', ':')
		return AppendString(buf, s)
	}
	raw := func(buf []byte, key string, v []byte) []byte {
		if v == nil {
			return buf
		}
		buf = append(buf, ',', '"')
		buf = append(buf, key...)
		buf = append(buf, '"', ':')
		return append(buf, v...)
	}
	b := append(buf[:0], `{"action_id":`...)
	b = AppendString(b, a.ActionID)
	b = raw(b, "args", args)
	b = raw(b, "cost", cost)
	b = raw(b, "duration_ms", dur)
	b = str(b, "intent_id", a.IntentID)
	b = raw(b, "metadata", meta)
	b = str(b, "name", a.Name)
	b = str(b, "parent_action_id", a.ParentActionID)
	b = str(b, "plan_id", a.PlanID)
	b = str(b, "prev_hash", a.PrevHash)
	b = raw(b, "result", res)
	b = str(b, "run_id", a.RunID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, a.Seq, 10)
	b = append(b, `,"timestamp":"`...)
	if a.Timestamp.UnixMilli() == tsMs {
		// parseTimeFast accepts only what FormatTime writes for the
		// time it returns.
		b = append(b, ts...)
	} else {
		b = Millis(a.Timestamp).AppendFormat(b, "2006-01-02T15:04:05.000Z")
	}
	b = append(b, `","type":`...)
	b = AppendString(b, string(a.Type))
	b = append(b, `,"v":`...)
	b = strconv.AppendInt(b, EncodingVersion, 10)
	b = append(b, '}')
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), true, b
}
