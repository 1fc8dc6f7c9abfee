package sqlite

import (
	"bytes"
	"database/sql/driver"
	_ "embed"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/klauspost/compress/s2"
	"modernc.org/sqlite"

	"github.com/loupe-dev/loupe/internal/span"
)

// A span's attributes are most of what it stores: about 1.1 KB of JSON for an
// agent-shaped span, where the whole span arrived as 1.5 KB of OTLP protobuf.
// The store keeps them packed: a BLOB holding a format byte, then the JSON as
// one S2 block compressed against a dictionary of OpenInference keys. Packed,
// the attributes take half the space (2.0 times smaller on the load
// generator's agent spans), which is what brings a stored span under its size
// on the wire. S2 was measured against zstd on the same spans: zstd with the
// same dictionary packs 2.6 times but costs 16 us a span to compress and 5 us
// to decompress, against 3 us and under 1 us (BENCHMARKS.md, "Packed
// attributes").
//
// Databases written before keep their attributes as TEXT; the two coexist,
// row by row, and every reader goes through unpackJSON or the SQL function
// loupe_json.

// jsonPackS2Dict1 marks attributes packed as an S2 block against dictionary
// 1. A stored JSON object starts with '{', so the first byte tells them apart.
const jsonPackS2Dict1 = 0x01

// maxUnpackedJSON bounds what a packed value may claim to unpack to, so that
// a damaged length cannot ask for gigabytes: it is SQLite's largest string
// (SQLITE_MAX_LENGTH), which the unpacked text must fit in anyway.
const maxUnpackedJSON = 1_000_000_000

// jsonPackDict1 is OpenInference's attribute keys, the way they appear in the
// stored JSON. Packed values name the dictionary they were made with, so this
// file must never change: a better dictionary is a new file and a new format
// byte, and this one stays for the rows already written
// (TestJSONPackDictionaryIsFrozen).
//
//go:embed jsonpack1.dict
var jsonPackDict1Bytes []byte

var jsonPackDict1 = s2.MakeDict(jsonPackDict1Bytes, nil)

// packJSON returns the packed form of the JSON text, in a slice of its own
// sized to fit: a batch holds its spans' packed attributes until it is
// written. scratch is space to pack in, kept by the caller between calls.
func packJSON(scratch *[]byte, text []byte) []byte {
	need := 1 + s2.MaxEncodedLen(len(text))
	if cap(*scratch) < need {
		*scratch = make([]byte, need)
	}
	buf := (*scratch)[:need]
	buf[0] = jsonPackS2Dict1
	enc := jsonPackDict1.Encode(buf[1:], text) // in place: buf[1:] is large enough
	return bytes.Clone(buf[:1+len(enc)])
}

var errCorruptJSON = errors.New("stored attributes are neither JSON text nor a packed value")

// unpackJSON returns the JSON text of a stored value, packed or not, using
// dst's storage when it is large enough. Unpacked text is returned as is.
func unpackJSON(dst, stored []byte) ([]byte, error) {
	if len(stored) == 0 || stored[0] != jsonPackS2Dict1 {
		return stored, nil
	}
	block := stored[1:]
	n, err := s2.DecodedLen(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorruptJSON, err)
	}
	if n > maxUnpackedJSON {
		return nil, fmt.Errorf("%w: it claims %d bytes", errCorruptJSON, n)
	}
	out, err := jsonPackDict1.Decode(dst[:0], block)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorruptJSON, err)
	}
	return out, nil
}

// ownedJSON is unpackJSON for a value the driver lends (sql.RawBytes): the
// text it returns is always the caller's own.
func ownedJSON(stored []byte) ([]byte, error) {
	if len(stored) > 0 && stored[0] == jsonPackS2Dict1 {
		return unpackJSON(nil, stored)
	}
	return bytes.Clone(stored), nil
}

// loupeJSON is the SQL function loupe_json(x): the JSON text of a stored
// attributes value, for json_extract and the other JSON functions, which
// would read a packed BLOB as SQLite's own binary JSON and fail. TEXT and
// NULL pass through.
func loupeJSON(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	stored, ok := args[0].([]byte)
	if !ok {
		// TEXT arrives as a string that the driver copies into SQLite's
		// result before this call's arguments are released.
		return args[0], nil
	}
	out, err := unpackJSON(nil, stored)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return "", nil
	}
	if &out[0] == &stored[0] {
		// Not packed: stored is SQLite's memory, valid only during the call.
		return string(out), nil
	}
	// out is this call's own allocation, never written again.
	return unsafe.String(&out[0], len(out)), nil
}

func init() {
	sqlite.MustRegisterFunction("loupe_json", &sqlite.FunctionImpl{
		NArgs:         1,
		Deterministic: true,
		// loupeJSON keeps neither argument past its return.
		VolatileArgs: true,
		Scalar:       loupeJSON,
	})
}

// packer packs the attributes of a batch's spans on a goroutine of its own,
// a chunk at a time, while the writer upserts the batch's traces and inserts
// the chunks before. Packing is about a tenth of the writer's work per agent
// span, and the writer is what ingest waits on.
type packer struct {
	attributes [][]byte      // by index in the batch
	ready      chan struct{} // a value for each chunk packed, in order
	quit       atomic.Bool   // the writer gave up on the batch
	done       chan struct{} // closed when the goroutine has returned
}

func startPacking(spans []*span.Span, chunk int) *packer {
	p := &packer{
		attributes: make([][]byte, len(spans)),
		// Room for every chunk: the goroutine never waits for the writer.
		ready: make(chan struct{}, countChunks(len(spans), chunk)),
		done:  make(chan struct{}),
	}
	go func() {
		defer close(p.done)
		var text, scratch []byte
		for start, run := range rowChunks(spans, chunk) {
			if p.quit.Load() {
				return
			}
			for i, sp := range run {
				text = sp.AppendStoredAttributes(text[:0])
				p.attributes[start+i] = packJSON(&scratch, text)
			}
			p.ready <- struct{}{}
		}
	}()
	return p
}

// wait returns when the next chunk, in order, is packed: the chunks are
// those rowChunks(spans, chunk) yields.
func (p *packer) wait() { <-p.ready }

// stop returns once the goroutine has, so that no span is read after the
// write that was given it returns. A batch written to the end has nothing
// left to pack.
func (p *packer) stop() {
	p.quit.Store(true)
	<-p.done
}
