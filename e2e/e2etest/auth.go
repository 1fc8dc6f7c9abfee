package e2etest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"
)

// The secrets AuthEnv gives a server.
const (
	Secret      = "an-e2e-secret-of-at-least-32-characters-42"
	AdminSecret = "an-e2e-admin-secret-of-32-characters-or-more-7"
)

// AuthEnv turns authentication on, for StartEnv: the secret, and the admin
// secret, which acts as the system and so can make keys and users.
func AuthEnv() []string {
	return []string{"LOUPE_ENABLE_AUTH=true", "LOUPE_SECRET=" + Secret, "LOUPE_ADMIN_SECRET=" + AdminSecret}
}

// Do sends a request with token as its bearer (none when empty) and
// returns the status and body, failing the test on a transport error.
func (s *Server) Do(t testing.TB, method, path, token string, body any) (int, []byte) {
	t.Helper()
	return s.do(t, s.HTTPClient, method, path, token, body)
}

func (s *Server) do(t testing.TB, client *http.Client, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.HTTPURL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// createdKey reads the id and the key of a created key's answer, failing
// the test on any other.
func createdKey(t testing.TB, what string, code int, body []byte) (id, key string) {
	t.Helper()
	var k struct {
		Data struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		} `json:"data"`
	}
	if code != http.StatusCreated || json.Unmarshal(body, &k) != nil || k.Data.Key == "" {
		t.Fatalf("create %s: %d %s", what, code, body)
	}
	return k.Data.ID, k.Data.Key
}

// SystemKey makes a system key, which writes but manages nothing, through
// the REST API with the admin secret, and returns its id and the key.
func (s *Server) SystemKey(t testing.TB, name string) (id, key string) {
	t.Helper()
	code, body := s.Do(t, "POST", "/v1/system/api_keys", AdminSecret, map[string]any{"data": map[string]any{"name": name}})
	return createdKey(t, "system key "+name, code, body)
}

// UserKey creates a user with role (ADMIN, MEMBER or VIEWER), logs in as
// them and makes them a personal key, as a person does in the UI; it
// returns the key's id and the key.
func (s *Server) UserKey(t testing.TB, username, role string) (id, key string) {
	t.Helper()
	password := "pw-" + username + "-0123"
	code, body := s.Do(t, "POST", "/v1/users", AdminSecret, map[string]any{"user": map[string]any{
		"auth_method": "LOCAL", "username": username, "email": username + "@example.com", "role": role, "password": password}})
	if code != http.StatusCreated {
		t.Fatalf("create user %q: %d %s", username, code, body)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Timeout: 10 * time.Second, Jar: jar, Transport: s.HTTPClient.Transport}
	if code, body := s.do(t, client, "POST", "/auth/login", "", map[string]string{"email": username, "password": password}); code != http.StatusNoContent {
		t.Fatalf("log in as %q: %d %s", username, code, body)
	}
	code, body = s.do(t, client, "POST", "/v1/user/api_keys", "", map[string]any{"data": map[string]any{"name": username + "-key"}})
	return createdKey(t, username+"'s key", code, body)
}
