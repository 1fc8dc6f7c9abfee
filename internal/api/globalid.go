package api

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// GlobalID is Phoenix's node identifier: base64 of "Type:rowid".
func GlobalID(typ string, id int64) string {
	return base64.StdEncoding.EncodeToString([]byte(typ + ":" + strconv.FormatInt(id, 10)))
}

// ParseGlobalID decodes a GlobalID of the expected type.
func ParseGlobalID(s, typ string) (int64, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a GlobalID", s)
	}
	t, id, ok := strings.Cut(string(raw), ":")
	if !ok {
		return 0, fmt.Errorf("%q is not a GlobalID", s)
	}
	if t != typ {
		return 0, fmt.Errorf("%q is a %s id, expected a %s id", s, t, typ)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a GlobalID", s)
	}
	return n, nil
}
