package otlp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// MaxDecodeDepth is the deepest an attribute value of a request may nest:
// a top-level scalar is one level, and each list or map it sits in is one
// more. Deeper requests are refused before they are decoded.
//
// The decoder (pdata) recurses once per level with no limit of its own, so
// a value nested a million levels deep, 18 MB of protobuf, overflows the
// goroutine's stack, which no recover can catch: the process dies. The
// bound is far beyond what instrumentation sends (protobuf's C++ and
// Python runtimes refuse messages nested past 100 levels, about 33 levels
// of maps), and values deeper than span.MaxValueDepth are stored in part
// as text anyway; it only has to keep decoding cheap and shallow.
const MaxDecodeDepth = 256

// maxJSONDepth bounds the nesting of an OTLP/JSON body, counted in
// brackets: a map inside a value takes four ({"kvlistValue":{"values":
// [{"key":…,"value":{…), a list three, and the request's envelope down to
// an event's attribute value eleven. A body within MaxDecodeDepth nests
// at most this deep; a deeper one cannot be within it.
const maxJSONDepth = 4*MaxDecodeDepth + 11

// UnmarshalProto decodes an OTLP/protobuf ExportTraceServiceRequest into
// req, once a scan of its bytes found no value nested deeper than
// MaxDecodeDepth.
func UnmarshalProto(req ptraceotlp.ExportRequest, b []byte) error {
	if err := checkProtoDepth(b); err != nil {
		return err
	}
	return req.UnmarshalProto(b)
}

// UnmarshalJSON decodes an OTLP/JSON ExportTraceServiceRequest into req,
// once a scan of its text found it nested no deeper than a request within
// MaxDecodeDepth can be.
func UnmarshalJSON(req ptraceotlp.ExportRequest, b []byte) error {
	if err := checkJSONDepth(b); err != nil {
		return err
	}
	return req.UnmarshalJSON(b)
}

// message is a message type of ExportTraceServiceRequest that can lead to
// an AnyValue, the only recursive type in it.
type message uint8

const (
	msgOther message = iota // holds nothing that nests; not looked into
	msgRequest
	msgResourceSpans
	msgResource
	msgScopeSpans
	msgScope
	msgSpan
	msgEvent
	msgLink
	msgKeyValue
	msgAnyValue
	msgArrayValue
	msgKeyValueList
)

// fieldMessage is the message type that field f of a message m holds, as
// opentelemetry/proto/trace/v1 and common/v1 define it, or msgOther. It
// must name every field through which pdata's decoder reaches an
// AnyValue: the scan descends exactly where the decoder recurses.
func fieldMessage(m message, f int32) message {
	switch m {
	case msgRequest:
		if f == 1 { // resource_spans
			return msgResourceSpans
		}
	case msgResourceSpans:
		switch f {
		case 1: // resource
			return msgResource
		case 2, 1000: // scope_spans; instrumentation_library_spans, which pdata reads as scope spans
			return msgScopeSpans
		}
	case msgResource:
		if f == 1 { // attributes
			return msgKeyValue
		}
	case msgScopeSpans:
		switch f {
		case 1: // scope
			return msgScope
		case 2: // spans
			return msgSpan
		}
	case msgScope:
		if f == 3 { // attributes
			return msgKeyValue
		}
	case msgSpan:
		switch f {
		case 9: // attributes
			return msgKeyValue
		case 11: // events
			return msgEvent
		case 13: // links
			return msgLink
		}
	case msgEvent:
		if f == 3 { // attributes
			return msgKeyValue
		}
	case msgLink:
		if f == 4 { // attributes
			return msgKeyValue
		}
	case msgKeyValue:
		if f == 2 { // value
			return msgAnyValue
		}
	case msgAnyValue:
		switch f {
		case 5: // array_value
			return msgArrayValue
		case 6: // kvlist_value
			return msgKeyValueList
		}
	case msgArrayValue:
		if f == 1 { // values
			return msgAnyValue
		}
	case msgKeyValueList:
		if f == 1 { // values
			return msgKeyValue
		}
	}
	return msgOther
}

// frame is a message the scan is inside of.
type frame struct {
	end int // offset just past the message
	msg message
}

// position counts where the scan is, for the error message: each counter
// is 1-based and counts within its parent.
type position struct {
	resource, scope, span, event, link int
	owner                              message // what holds the attribute being read: resource, scope, span, event or link
	attr                               []byte  // the attribute's KeyValue
}

var errMalformed = errors.New("malformed protobuf")

// checkProtoDepth scans an ExportTraceServiceRequest's wire format and
// reports a value nested deeper than MaxDecodeDepth, without recursion:
// the messages it is inside of are an explicit stack, at most a few
// entries per level of a value, and so bounded. It reads the framing as
// pdata's decoder does (varints of at most ten bytes, field numbers as
// int32, lengths within the enclosing message, groups skipped as
// proto.ConsumeUnknown skips them) and refuses what the decoder would
// refuse at the same place, so that it descends exactly where the decoder
// would; it looks into no string, bytes or message that cannot hold a
// value.
func checkProtoDepth(b []byte) error {
	stack := make([]frame, 1, 32)
	stack[0] = frame{end: len(b), msg: msgRequest}
	level := 0 // AnyValues open on the stack
	var at position
	pos := 0
	for {
		top := &stack[len(stack)-1]
		if pos == top.end {
			if len(stack) == 1 {
				return nil
			}
			if top.msg == msgAnyValue {
				level--
			}
			stack = stack[:len(stack)-1]
			continue
		}
		// Nearly all of a request is attributes with scalar values: a run
		// of them is passed over in one go, each value within the limit.
		if tag := valueTag[top.msg]; tag != 0 && b[pos] == tag && level < MaxDecodeDepth {
			if next := plainValues(b, pos, top.end, tag, top.msg == msgArrayValue); next > pos {
				pos = next
				continue
			}
		}
		field, wireType, next, err := protoTag(b, pos, top.end)
		if err != nil {
			return err
		}
		if wireType != 2 {
			if pos, err = skipValue(b, next, top.end, wireType); err != nil {
				return err
			}
			continue
		}
		n, next, err := protoVarint(b, next, top.end)
		if err != nil {
			return err
		}
		if n > uint64(top.end-next) {
			return fmt.Errorf("%w: field at byte %d runs past its message", errMalformed, pos)
		}
		pos = next
		end := pos + int(n)
		m := fieldMessage(top.msg, field)
		switch m {
		case msgOther:
			pos = end
			continue
		case msgResourceSpans:
			at.resource++
			at.scope = 0
		case msgScopeSpans:
			at.scope++
			at.span = 0
		case msgSpan:
			at.span++
			at.event, at.link = 0, 0
		case msgEvent:
			at.event++
		case msgLink:
			at.link++
		case msgKeyValue, msgAnyValue:
			// Nearly every value is a scalar: one that is, within the
			// limit, is read where it is rather than pushed and popped.
			if level < MaxDecodeDepth {
				scalar, err := scalarValue(b, pos, end, m)
				if err != nil {
					return err
				}
				if scalar {
					pos = end
					continue
				}
			}
			if m == msgKeyValue && level == 0 {
				at.owner, at.attr = top.msg, b[pos:end]
			}
			if m == msgAnyValue {
				level++
				if level > MaxDecodeDepth {
					return at.tooDeep()
				}
			}
		}
		stack = append(stack, frame{end: end, msg: m})
	}
}

// valueTag is, for each message that holds attributes or values, the
// one-byte tag of that field: KeyValues in a resource, scope, span, event,
// link or map, AnyValues in a list.
var valueTag = [...]byte{
	msgResource:     0x0a, // attributes, field 1
	msgScope:        0x1a, // attributes, field 3
	msgSpan:         0x4a, // attributes, field 9
	msgEvent:        0x1a, // attributes, field 3
	msgLink:         0x22, // attributes, field 4
	msgKeyValueList: 0x0a, // values, field 1
	msgArrayValue:   0x0a, // values, field 1
}

// plainValues passes over the run of fields with the one-byte tag at
// b[pos:end] that are plain KeyValues (or, in a list, plain AnyValues) and
// returns where the run stops: at the first field that is not one, for
// checkProtoDepth to read field by field. A plain KeyValue is laid out as
// encoders write an attribute with a scalar value: a key field and a value
// field (tags 0x0a and 0x12, in either order), the value a plain AnyValue;
// a plain AnyValue is empty or one string, bytes, bool, int or double
// field. Such fields hold nothing to descend into, and their framing is as
// checkProtoDepth would read it; anything else, however valid, is left to
// it. Lengths of one or two bytes are read in line: this is the scan's hot
// path.
func plainValues(b []byte, pos, end int, tag byte, anyValues bool) int {
	for pos < end && b[pos] == tag {
		n, start := shortLength(b, pos+1, end)
		if start < 0 {
			return pos
		}
		if anyValues {
			if !plainAnyValue(b, start, start+n) {
				return pos
			}
			pos = start + n
			continue
		}
		for p, kvEnd := start, start+n; p < kvEnd; {
			t := b[p]
			if t != 0x0a && t != 0x12 {
				return pos
			}
			m, q := shortLength(b, p+1, kvEnd)
			if q < 0 || t == 0x12 && !plainAnyValue(b, q, q+m) {
				return pos
			}
			p = q + m
		}
		pos = start + n
	}
	return pos
}

// plainAnyValue reports whether the AnyValue in b[pos:end] is empty or is
// one string, bytes, bool, int or double field and nothing else.
func plainAnyValue(b []byte, pos, end int) bool {
	if pos == end {
		return true
	}
	switch b[pos] {
	case 0x0a, 0x3a: // string_value, bytes_value
		n, next := shortLength(b, pos+1, end)
		return next >= 0 && next+n == end
	case 0x10, 0x18: // bool_value, int_value
		for i := pos + 1; i < end && i <= pos+10; i++ {
			if b[i] < 0x80 {
				return i+1 == end
			}
		}
		return false
	case 0x21: // double_value
		return end-pos == 9
	}
	return false
}

// shortLength reads a length of one or two varint bytes at b[pos:end] and
// returns it and where what it measures starts, if that ends by end;
// otherwise next is -1.
func shortLength(b []byte, pos, end int) (n, next int) {
	switch {
	case pos < end && b[pos] < 0x80:
		n, next = int(b[pos]), pos+1
	case pos+1 < end && b[pos+1] < 0x80:
		n, next = int(b[pos]&0x7f)|int(b[pos+1])<<7, pos+2
	default:
		return 0, -1
	}
	if n > end-next {
		return 0, -1
	}
	return n, next
}

// scalarValue reports whether the KeyValue or AnyValue m in b[pos:end]
// holds no list or map, reading its fields as checkProtoDepth would if it
// descended, and refusing what it would refuse: it reads the values that
// plainValues leaves, laid out in some other way.
func scalarValue(b []byte, pos, end int, m message) (bool, error) {
	for pos < end {
		field, wireType, next, err := protoTag(b, pos, end)
		if err != nil {
			return false, err
		}
		if wireType != 2 {
			if pos, err = skipValue(b, next, end, wireType); err != nil {
				return false, err
			}
			continue
		}
		n, next, err := protoVarint(b, next, end)
		if err != nil {
			return false, err
		}
		if n > uint64(end-next) {
			return false, fmt.Errorf("%w: field at byte %d runs past its message", errMalformed, pos)
		}
		switch fieldMessage(m, field) {
		case msgAnyValue:
			// A KeyValue's value, read the same way; an AnyValue holds no
			// KeyValue or AnyValue directly, so this goes one call deep.
			if scalar, err := scalarValue(b, next, next+int(n), msgAnyValue); !scalar || err != nil {
				return false, err
			}
		case msgArrayValue, msgKeyValueList:
			return false, nil
		}
		pos = next + int(n)
	}
	return true, nil
}

// protoTag reads the tag at b[pos:end] as pdata does: the field number is
// the varint shifted right by three and truncated to int32, which wraps
// (a number of 2^32+1 is field 1), and must then be positive.
func protoTag(b []byte, pos, end int) (field int32, wireType uint64, next int, err error) {
	tag, next, err := protoVarint(b, pos, end)
	if err != nil {
		return 0, 0, 0, err
	}
	if field = int32(tag >> 3); field <= 0 {
		return 0, 0, 0, fmt.Errorf("%w: field number %d at byte %d", errMalformed, field, pos)
	}
	return field, tag & 7, next, nil
}

// skipValue skips the value of a field of wire type wireType, other than
// 2, that starts at pos.
func skipValue(b []byte, pos, end int, wireType uint64) (int, error) {
	switch wireType {
	case 0:
		_, pos, err := protoVarint(b, pos, end)
		return pos, err
	case 1, 5:
		n := 8
		if wireType == 5 {
			n = 4
		}
		if end-pos < n {
			return 0, fmt.Errorf("%w: field at byte %d runs past its message", errMalformed, pos)
		}
		return pos + n, nil
	case 3:
		return skipGroup(b, pos, end)
	case 4:
		return 0, fmt.Errorf("%w: wire type 4 (end of group) outside a group at byte %d", errMalformed, pos)
	}
	return 0, fmt.Errorf("%w: wire type %d at byte %d", errMalformed, wireType, pos)
}

// protoVarint reads a varint at b[pos:end] as pdata does: at most ten
// bytes, the bits past 64 dropped.
func protoVarint(b []byte, pos, end int) (uint64, int, error) {
	if pos < end && b[pos] < 0x80 {
		return uint64(b[pos]), pos + 1, nil
	}
	return protoVarintSlow(b, pos, end)
}

func protoVarintSlow(b []byte, pos, end int) (uint64, int, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 {
			return 0, 0, fmt.Errorf("%w: varint longer than ten bytes at byte %d", errMalformed, pos)
		}
		if pos >= end {
			return 0, 0, fmt.Errorf("%w: varint runs past its message at byte %d", errMalformed, pos)
		}
		c := b[pos]
		pos++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, pos, nil
		}
	}
}

// skipGroup skips a group whose start tag ended at pos exactly as pdata
// skips an unknown one (proto.ConsumeUnknown): start and end tags are
// counted, flat, up to the first other field, which ends the skip however
// many groups are open; what follows is read as fields of the message.
// Skipping the whole group instead would pass over fields that pdata then
// decodes, values included.
func skipGroup(b []byte, pos, end int) (int, error) {
	depth := 0
	wireType := uint64(3)
	for {
		if pos >= end {
			return 0, fmt.Errorf("%w: group runs past its message at byte %d", errMalformed, pos)
		}
		switch wireType {
		case 0, 1, 5:
			return skipValue(b, pos, end, wireType)
		case 2:
			n, next, err := protoVarint(b, pos, end)
			if err != nil {
				return 0, err
			}
			if n > uint64(end-next) {
				return 0, fmt.Errorf("%w: field at byte %d runs past its message", errMalformed, pos)
			}
			return next + int(n), nil
		case 3:
			depth++
		case 4:
			depth--
		default:
			return 0, fmt.Errorf("%w: wire type %d at byte %d", errMalformed, wireType, pos)
		}
		if depth == 0 {
			return pos, nil
		}
		_, wt, next, err := protoTag(b, pos, end)
		if err != nil {
			return 0, err
		}
		pos, wireType = next, wt
	}
}

// attributeKey finds the key of a KeyValue message, reading its fields
// flat: encoders write the key before the value or, as pdata does, after.
func attributeKey(kv []byte) ([]byte, bool) {
	for pos := 0; pos < len(kv); {
		tag, next, err := protoVarint(kv, pos, len(kv))
		if err != nil {
			return nil, false
		}
		pos = next
		switch tag & 7 {
		case 0:
			if _, pos, err = protoVarint(kv, pos, len(kv)); err != nil {
				return nil, false
			}
		case 1:
			pos += 8
		case 5:
			pos += 4
		case 2:
			n, next, err := protoVarint(kv, pos, len(kv))
			if err != nil || n > uint64(len(kv)-next) {
				return nil, false
			}
			if tag>>3 == 1 {
				return kv[next : next+int(n)], true
			}
			pos = next + int(n)
		default:
			return nil, false
		}
	}
	return nil, false
}

// tooDeep says which attribute nests too deep, and where it is.
func (p *position) tooDeep() error {
	attr := "an attribute"
	if key, ok := attributeKey(p.attr); ok {
		if len(key) > 100 {
			key = key[:100]
		}
		attr = fmt.Sprintf("attribute %q", key)
	}
	var where string
	rs := fmt.Sprintf("resource %d", p.resource)
	ss := fmt.Sprintf("scope %d of %s", p.scope, rs)
	sp := fmt.Sprintf("span %d of %s", p.span, ss)
	switch p.owner {
	case msgResource:
		where = rs
	case msgScope:
		where = "the instrumentation scope of " + ss
	case msgSpan:
		where = sp
	case msgEvent:
		where = fmt.Sprintf("event %d of %s", p.event, sp)
	case msgLink:
		where = fmt.Sprintf("link %d of %s", p.link, sp)
	}
	return fmt.Errorf("%s of %s nests deeper than %d levels, the most Loupe accepts", attr, where, MaxDecodeDepth)
}

// checkJSONDepth reports an OTLP/JSON body nested deeper than maxJSONDepth,
// counting brackets outside strings. Each closing bracket must match the
// opening one (a bit per level records which): the decoder skips unknown
// fields by counting braces alone, and unmatched brackets there must not
// make the count read shallower than the decoder goes.
func checkJSONDepth(b []byte) error {
	var lists [(maxJSONDepth + 63) / 64]uint64 // bit d: the bracket open at depth d is '['
	depth := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			i = jsonStringEnd(b, i+1) - 1
		case '{', '[':
			if depth == maxJSONDepth {
				return fmt.Errorf("JSON nests deeper than %d levels at byte %d; attribute values may nest at most %d levels", maxJSONDepth, i, MaxDecodeDepth)
			}
			if c == '[' {
				lists[depth/64] |= 1 << (depth % 64)
			} else {
				lists[depth/64] &^= 1 << (depth % 64)
			}
			depth++
		case '}', ']':
			if depth == 0 {
				return fmt.Errorf("invalid JSON: unmatched %q at byte %d", c, i)
			}
			depth--
			if isList := lists[depth/64]&(1<<(depth%64)) != 0; isList != (c == ']') {
				return fmt.Errorf("invalid JSON: mismatched %q at byte %d", c, i)
			}
		}
	}
	return nil
}

// jsonStringEnd returns the offset just past the quote that closes the
// JSON string whose text starts at i, or len(b) if none does. A request
// is mostly strings: short keys, read eight bytes at a time here, and long
// texts, left to bytes.IndexByte, which costs more to start than a key
// takes to read.
func jsonStringEnd(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for words := 0; words < 2 && i+8 <= len(b); words++ {
		w := binary.LittleEndian.Uint64(b[i:])
		q, bs := w^(ones*'"'), w^(ones*'\\')
		// A byte of q or bs is zero where w has a quote or a backslash; the
		// lowest byte flagged is always one (higher ones may be borrows).
		found := ((q-ones)&^q | (bs-ones)&^bs) & highs
		if found == 0 {
			i += 8
			continue
		}
		j := i + bits.TrailingZeros64(found)/8
		if b[j] == '"' {
			return j + 1
		}
		i = j + 2 // past the backslash and the byte it escapes
		words--
	}
	for i < len(b) {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b)
		}
		q += i
		// Escaped when an odd run of backslashes precedes it; runs are
		// counted back only to i, so no backslash is counted twice.
		n := 0
		for p := q - 1; p >= i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
	return len(b)
}
