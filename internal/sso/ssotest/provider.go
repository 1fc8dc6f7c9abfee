// Package ssotest is an OpenID Connect provider for tests, served in the
// test's process: a discovery document, a JSON Web Key Set, and
// authorization, token and userinfo endpoints that check what a real
// provider checks (the client, the callback URL, PKCE) and sign ID tokens
// with an RSA key made for the test. Whoever the authorization endpoint
// is asked about logs in at once, as the person set in Provider.Claims.
package ssotest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Provider is a running test provider.
type Provider struct {
	URL          string // the issuer
	ClientID     string
	ClientSecret string

	key *rsa.PrivateKey
	kid string

	mu sync.Mutex
	// Claims are the person's, put in each ID token after the standard
	// ones (iss, sub, aud, exp, iat, nonce), which they may replace.
	claims map[string]any
	// tamper changes an ID token's claims before it is signed.
	tamper func(map[string]any)
	// signer signs ID tokens; the published key unless changed.
	signer *rsa.PrivateKey
	codes  map[string]grant
	tokens map[string]map[string]any // access token → userinfo claims
	// omitFromIDToken are claims sent only from the userinfo endpoint.
	omitFromIDToken []string
	exchanged       int
}

// grant is what the authorization endpoint was asked, for the token
// endpoint to check.
type grant struct {
	redirectURI, challenge, nonce string
	claims                        map[string]any
}

// ConfigPath is where the discovery document is served.
const ConfigPath = "/.well-known/openid-configuration"

// New starts a provider for client "loupe" with a secret, that logs in
// alice@example.com until told otherwise. It stops when the test ends.
func New(t testing.TB) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{ClientID: "loupe", ClientSecret: "test-client-secret", key: key, signer: key, kid: "test-key-1",
		codes: map[string]grant{}, tokens: map[string]map[string]any{}}
	p.SetPerson(map[string]any{"sub": "alice-sub", "email": "alice@example.com", "email_verified": true, "name": "Alice"})
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ConfigPath, p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// ConfigURL is the discovery document's URL, for OIDC_CONFIG_URL.
func (p *Provider) ConfigURL() string { return p.URL + ConfigPath }

// Env is the variables that configure Loupe for this provider as
// PHOENIX_OAUTH2_<NAME>_*, with extra settings ("ALLOW_SIGN_UP=false").
func (p *Provider) Env(name string, extra ...string) []string {
	pre := "PHOENIX_OAUTH2_" + name + "_"
	env := []string{pre + "CLIENT_ID=" + p.ClientID, pre + "CLIENT_SECRET=" + p.ClientSecret, pre + "OIDC_CONFIG_URL=" + p.ConfigURL()}
	for _, e := range extra {
		env = append(env, pre+e)
	}
	return env
}

// SetPerson sets whose claims the next logins carry.
func (p *Provider) SetPerson(claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claims = maps.Clone(claims)
}

// Tamper changes the claims of the ID tokens issued from now on (nil: none).
func (p *Provider) Tamper(f func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = f
}

// SignWithUnpublishedKey signs ID tokens from now on with a key the JWKS
// does not hold, as a forger would.
func (p *Provider) SignWithUnpublishedKey(t testing.TB) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signer = other
}

// OnlyFromUserInfo leaves claims out of the ID token: the userinfo
// endpoint alone sends them, as some providers do with email.
func (p *Provider) OnlyFromUserInfo(claims ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.omitFromIDToken = claims
}

// Exchanged counts the codes the token endpoint has exchanged.
func (p *Provider) Exchanged() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exchanged
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + "/authorize",
		"token_endpoint":                        p.URL + "/token",
		"jwks_uri":                              p.URL + "/jwks",
		"userinfo_endpoint":                     p.URL + "/userinfo",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	pub := p.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": p.kid,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// authorize logs the person in at once and sends the browser back with a
// code, after the checks a provider makes before it trusts a callback URL.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("client_id") != p.ClientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case err != nil || redirect.Scheme == "" || redirect.Path == "":
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" {
		back.Set("error", "invalid_request")
		back.Set("error_description", "PKCE (S256) and a nonce are required")
	} else {
		code := randomString()
		p.mu.Lock()
		p.codes[code] = grant{redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"),
			nonce: q.Get("nonce"), claims: maps.Clone(p.claims)}
		p.mu.Unlock()
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token exchanges a code, once, for an access token and a signed ID token.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request", err.Error())
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || secret != p.ClientSecret {
		tokenError(w, "invalid_client", "wrong client credentials")
		return
	}
	code := r.PostForm.Get("code")
	p.mu.Lock()
	g, ok := p.codes[code]
	delete(p.codes, code)
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code" || !ok:
		tokenError(w, "invalid_grant", "unknown or used code")
		return
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		tokenError(w, "invalid_grant", "redirect_uri differs from the authorization request's")
		return
	case b64(sum[:]) != g.challenge:
		tokenError(w, "invalid_grant", "the code_verifier does not match the code_challenge")
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": p.URL, "aud": p.ClientID, "exp": now.Add(5 * time.Minute).Unix(),
		"iat": now.Unix(), "nonce": g.nonce}
	maps.Copy(claims, g.claims)
	access := randomString()
	p.mu.Lock()
	p.tokens[access] = maps.Clone(claims)
	for _, c := range p.omitFromIDToken {
		delete(claims, c)
	}
	if p.tamper != nil {
		p.tamper(claims)
	}
	signer := p.signer
	p.exchanged++
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 300,
		"id_token": p.sign(signer, claims)})
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	access, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	claims, ok := p.tokens[access]
	p.mu.Unlock()
	if !bearer || !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	out := map[string]any{}
	for k, v := range claims {
		switch k {
		case "iss", "aud", "exp", "iat", "nonce":
		default:
			out[k] = v
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// sign makes a compact RS256 JSON Web Token of claims.
func (p *Provider) sign(key *rsa.PrivateKey, claims map[string]any) string {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": p.kid})
	payload, _ := json.Marshal(claims)
	input := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(fmt.Sprintf("ssotest: sign an ID token: %v", err))
	}
	return input + "." + b64(sig)
}

func tokenError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return b64(b)
}
