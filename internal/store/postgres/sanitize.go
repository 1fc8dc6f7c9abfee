package postgres

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
)

// PostgreSQL text holds neither NUL bytes nor invalid UTF-8, and JSONB
// refuses the escape \u0000, although OTLP strings may carry all three. They
// are stored as U+FFFD, as invalid UTF-8 already is in JSON.

// text makes s storable in a TEXT column.
func text(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// nullText is s as a nullable TEXT value: NULL when empty.
func nullText(s string) pgtype.Text {
	return pgtype.Text{String: text(s), Valid: s != ""}
}

// nullInt is n as a nullable BIGINT value: NULL when zero.
func nullInt(n int64) pgtype.Int8 {
	return pgtype.Int8{Int64: n, Valid: n != 0}
}

const nulEscape = `\u0000`

// jsonb makes a JSON document, written by span's encoders, storable as JSONB.
func jsonb[T string | []byte](doc T) string {
	if !strings.Contains(string(doc), nulEscape) {
		return string(doc)
	}
	out := make([]byte, 0, len(doc)+8)
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if c != '\\' || i+1 >= len(doc) {
			out = append(out, c)
			continue
		}
		// An escape: copy it whole, so the backslash of "\\" is not taken
		// for the start of the next one.
		if strings.HasPrefix(string(doc[i:]), nulEscape) {
			out = append(out, `\ufffd`...)
			i += len(nulEscape) - 1
			continue
		}
		out = append(out, c, doc[i+1])
		i++
	}
	return string(out)
}

// compactJSON turns PostgreSQL's JSONB output ({"a": 1, "b": [1, 2]}) back
// into the compact form the SQLite backend returns.
func compactJSON(doc []byte) json.RawMessage {
	var buf bytes.Buffer
	buf.Grow(len(doc))
	if err := json.Compact(&buf, doc); err != nil {
		return json.RawMessage(doc)
	}
	return buf.Bytes()
}
