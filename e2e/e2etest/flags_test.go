package e2etest

import (
	"slices"
	"testing"
)

func TestFlagValue(t *testing.T) {
	tests := []struct {
		args    []string
		want    string
		wantSet bool
	}{
		{nil, "", false},
		{[]string{"--data-dir", "/d"}, "/d", true},
		{[]string{"-data-dir", "/d"}, "/d", true},
		{[]string{"--data-dir=/d"}, "/d", true},
		{[]string{"-data-dir=/d"}, "/d", true},
		{[]string{"--log-level", "debug", "--data-dir", "/d"}, "/d", true},
		{[]string{"--data-dir"}, "", false}, // no value: loupe itself rejects it
		{[]string{"--data-dirx", "/d"}, "", false},
		{[]string{"--log-level", "--data-dir"}, "", false},
	}
	for _, tt := range tests {
		got, ok := flagValue(tt.args, "data-dir")
		if got != tt.want || ok != tt.wantSet {
			t.Errorf("flagValue(%q) = %q, %v; want %q, %v", tt.args, got, ok, tt.want, tt.wantSet)
		}
	}
}

func TestCleanEnv(t *testing.T) {
	in := []string{"PATH=/bin", "LOUPE_HTTP_ADDR=:1", "PHOENIX_PORT=2", "HOME=/h", "XLOUPE_KEEP=1"}
	want := []string{"PATH=/bin", "HOME=/h", "XLOUPE_KEEP=1"}
	if got := cleanEnv(in); !slices.Equal(got, want) {
		t.Errorf("cleanEnv(%q) = %q, want %q", in, got, want)
	}
	if in[1] != "LOUPE_HTTP_ADDR=:1" {
		t.Errorf("cleanEnv modified its input: %q", in)
	}
}
