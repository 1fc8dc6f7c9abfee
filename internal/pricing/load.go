package pricing

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

//go:embed prices.json
var embeddedPrices []byte

// Unit is the only price unit price files may declare.
const Unit = "USD per 1M tokens"

// file is the layout shared by the built-in prices.json and user files.
type file struct {
	Unit    string            `json:"unit"`
	Entries []json.RawMessage `json:"entries"`
}

// LoadFile reads user price entries from a JSON file laid out like the
// built-in prices.json (see REFRESHING.md). The entries are validated; pass
// them to New.
func LoadFile(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pricing: reading price file: %w", err)
	}
	entries, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return entries, nil
}

// Parse decodes and validates user price entries.
func Parse(data []byte) ([]Entry, error) {
	entries, err := parse(data, User)
	if err != nil {
		return nil, err
	}
	if _, err := compileAll(entries); err != nil {
		return nil, err
	}
	return entries, nil
}

// parse decodes a price file. Each entry is decoded on its own so that an
// error names the entry it is in.
func parse(data []byte, origin Origin) ([]Entry, error) {
	var f file
	if err := decodeStrict(data, &f); err != nil {
		return nil, fmt.Errorf("pricing: decoding %s price file: %w", origin, err)
	}
	if f.Unit != "" && f.Unit != Unit {
		return nil, fmt.Errorf("pricing: %s price file: unit is %q, want %q", origin, f.Unit, Unit)
	}
	out := make([]Entry, 0, len(f.Entries))
	for i, raw := range f.Entries {
		var e Entry
		if err := decodeStrict(raw, &e); err != nil {
			var named struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(raw, &named) // best effort, only to name the entry
			return nil, fmt.Errorf("pricing: %s entry %d (%q): %w", origin, i, named.Name, err)
		}
		e.Origin = origin
		out = append(out, e)
	}
	return out, nil
}

// decodeStrict rejects unknown fields, so a misspelt key is an error
// rather than a silently missing price.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
