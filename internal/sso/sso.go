// Package sso logs people in to the UI through OpenID Connect identity
// providers (single sign-on), configured and routed as Phoenix does:
// PHOENIX_OAUTH2_<IDP>_* variables (FromEnv), GET or POST
// /oauth2/{idp_name}/login to go to the provider, and GET
// /oauth2/{idp_name}/tokens for the provider to send the browser back to.
//
// The flow is OAuth 2.0's authorization code flow with PKCE (S256) always,
// a random state that ties the provider's answer to the browser that
// asked, and a nonce that ties the ID token to it; the three wait in one
// short-lived HttpOnly cookie. The ID token's signature, issuer, audience
// and expiry are checked by github.com/coreos/go-oidc against the
// provider's published keys. A person is known by their email, which the
// provider must not say is unverified: a user with that email and no
// password is logged in, one with a password is refused (they log in with
// it), and someone new becomes a user when the provider allows sign-up,
// with the role its settings give (a viewer by default).
package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/ratelimited"
	"github.com/loupe-dev/loupe/internal/store"
)

// Options configure a Service.
type Options struct {
	// LoginPath is the UI's login page, where failures are reported;
	// "/login" when empty.
	LoginPath string
	// SecureCookies marks the flow's cookie Secure on plain HTTP too, and
	// makes the callback URL https: the server is behind a proxy that
	// serves HTTPS, as for the session cookie.
	SecureCookies bool
	// Client reaches the providers; one with a 10 s timeout when nil.
	Client *http.Client
	Log    *slog.Logger
}

// Service runs the logins through every configured provider. A nil
// *Service has no providers.
type Service struct {
	auth      *auth.Service
	providers []*provider // by name
	opts      Options
	log       *slog.Logger
	errs      ratelimited.Logger
}

// provider is one identity provider, its discovery document fetched at
// its first use, so that a provider down when Loupe starts delays only
// the logins through it.
type provider struct {
	Config
	mu       sync.Mutex
	op       *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

// New makes the Service of cfgs, which log people in through a.
func New(a *auth.Service, cfgs []Config, o Options) *Service {
	if o.LoginPath == "" {
		o.LoginPath = "/login"
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{auth: a, opts: o, log: o.Log}
	s.errs.Log = o.Log
	for _, c := range cfgs {
		s.providers = append(s.providers, &provider{Config: c})
	}
	return s
}

// Button is a provider as the login page offers it.
type Button struct {
	Name        string
	DisplayName string
	URL         string // starts the login, coming back to the page asked for
}

// Buttons are the providers, for the login page; next is where to go
// once logged in.
func (s *Service) Buttons(next string) []Button {
	if s == nil {
		return nil
	}
	out := make([]Button, len(s.providers))
	for i, p := range s.providers {
		out[i] = Button{Name: p.Name, DisplayName: p.DisplayName, URL: loginURL(p.Name, next)}
	}
	return out
}

// AutoLogin returns where the login page sends a browser at once: the
// first provider whose AUTO_LOGIN is set.
func (s *Service) AutoLogin(next string) (string, bool) {
	if s == nil {
		return "", false
	}
	for _, p := range s.providers {
		if p.AutoLogin {
			return loginURL(p.Name, next), true
		}
	}
	return "", false
}

// SignUp reports whether any provider creates users on their first
// login, so that an admin may create users who have no password.
func (s *Service) SignUp() bool {
	if s == nil {
		return false
	}
	for _, p := range s.providers {
		if p.AllowSignUp {
			return true
		}
	}
	return false
}

func loginURL(name, next string) string {
	u := "/oauth2/" + url.PathEscape(name) + "/login"
	if next != "" && next != "/" {
		u += "?returnUrl=" + url.QueryEscape(next)
	}
	return u
}

func (s *Service) provider(name string) *provider {
	if s == nil {
		return nil
	}
	for _, p := range s.providers {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// discover fetches the provider's discovery document, once it has
// succeeded.
func (s *Service) discover(ctx context.Context, p *provider) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op != nil {
		return p.op, p.verifier, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.ConfigURL, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("discover %s: %w", p.Name, err)
	}
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("discover %s: %w", p.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("discover %s: read %s: %w", p.Name, p.ConfigURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("discover %s: %s answered %s", p.Name, p.ConfigURL, resp.Status)
	}
	var pc oidc.ProviderConfig
	if err := json.Unmarshal(body, &pc); err != nil {
		return nil, nil, fmt.Errorf("discover %s: %s is not a discovery document: %w", p.Name, p.ConfigURL, err)
	}
	if pc.IssuerURL == "" || pc.AuthURL == "" || pc.TokenURL == "" || pc.JWKSURL == "" {
		return nil, nil, fmt.Errorf("discover %s: %s lacks an issuer, authorization_endpoint, token_endpoint or jwks_uri", p.Name, p.ConfigURL)
	}
	// The key set lives as long as the provider, beyond this request.
	p.op = pc.NewProvider(oidc.ClientContext(context.Background(), s.opts.Client))
	p.verifier = p.op.Verifier(&oidc.Config{ClientID: p.ClientID})
	return p.op, p.verifier, nil
}

// oauth2Config is the client of p, sending people back to redirectURL.
func (p *provider) oauth2Config(op *oidc.Provider, redirectURL string) *oauth2.Config {
	ep := op.Endpoint()
	switch p.AuthMethod {
	case "client_secret_post", "none":
		ep.AuthStyle = oauth2.AuthStyleInParams
	default:
		ep.AuthStyle = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: ep,
		RedirectURL: redirectURL, Scopes: p.Scopes}
}

// flowTTL is how long a person has at the provider, as Phoenix's.
const flowTTL = 15 * time.Minute

// flow is what the login remembers until the provider sends the browser
// back: in a cookie, which only this server's pages send, and no script
// reads.
type flow struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Redirect string `json:"r"` // the callback URL sent, which the token request repeats
	Next     string `json:"x"`
}

const (
	flowCookie       = "loupe_oauth2"
	secureFlowCookie = "__Host-loupe_oauth2"
)

func (s *Service) secure(r *http.Request) bool { return r.TLS != nil || s.opts.SecureCookies }

func (s *Service) setFlow(w http.ResponseWriter, r *http.Request, f flow) {
	b, _ := json.Marshal(f)
	c := &http.Cookie{Name: flowCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(flowTTL / time.Second)}
	if s.secure(r) {
		c.Name, c.Secure = secureFlowCookie, true
	}
	http.SetCookie(w, c)
}

// takeFlow reads the flow's cookie and tells the browser to forget it:
// each is used once.
func (s *Service) takeFlow(w http.ResponseWriter, r *http.Request) (flow, bool) {
	name := flowCookie
	if s.secure(r) {
		name = secureFlowCookie
	}
	c, err := r.Cookie(name)
	if err != nil {
		return flow{}, false
	}
	http.SetCookie(w, &http.Cookie{Name: name, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1, Secure: s.secure(r)})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	var f flow
	if err != nil || json.Unmarshal(b, &f) != nil || f.State == "" || f.Nonce == "" || f.Verifier == "" {
		return flow{}, false
	}
	return f, true
}

// callbackURL is where the provider sends the browser back: this server,
// as the browser reached it. The provider accepts only the URLs
// registered with it, so a forged Host header gets nowhere.
func (s *Service) callbackURL(r *http.Request, name string) string {
	scheme := "http"
	if s.secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/oauth2/" + url.PathEscape(name) + "/tokens"
}

// Login sends the browser to the provider's login page: GET or POST
// /oauth2/{idp_name}/login, with where to go afterwards as ?returnUrl=
// (Phoenix's) or ?next=.
func (s *Service) Login(w http.ResponseWriter, r *http.Request) {
	p := s.provider(r.PathValue("idp_name"))
	if p == nil {
		s.fail(w, r, "unknown_idp")
		return
	}
	q := r.URL.Query()
	next := q.Get("returnUrl")
	if next == "" {
		next = q.Get("next")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	op, _, err := s.discover(ctx, p)
	if err != nil {
		s.errs.Warn("single sign-on: the identity provider cannot be reached", "idp", p.Name, "err", err)
		s.fail(w, r, "oauth_error")
		return
	}
	f := flow{Provider: p.Name, State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(),
		Redirect: s.callbackURL(r, p.Name), Next: auth.SafeRedirect(next)}
	s.setFlow(w, r, f)
	to := p.oauth2Config(op, f.Redirect).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusFound)
}

// Callback is GET /oauth2/{idp_name}/tokens: the provider sends the
// browser back with a code, which is exchanged for an ID token; its
// person is logged in and sent to the page they asked for.
func (s *Service) Callback(w http.ResponseWriter, r *http.Request) {
	p := s.provider(r.PathValue("idp_name"))
	if p == nil {
		s.fail(w, r, "unknown_idp")
		return
	}
	f, ok := s.takeFlow(w, r)
	q := r.URL.Query()
	if e := q.Get("error"); e != "" || q.Get("error_description") != "" {
		// The provider's words, which anyone can forge in a link: for the
		// log only.
		s.log.Warn("single sign-on: the identity provider refused", "idp", p.Name, "error", clip(e), "description", clip(q.Get("error_description")))
		s.fail(w, r, "auth_failed")
		return
	}
	code := q.Get("code")
	if code == "" {
		s.log.Warn("single sign-on: the identity provider sent no code", "idp", p.Name)
		s.fail(w, r, "auth_failed")
		return
	}
	if !ok || f.Provider != p.Name || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		s.log.Warn("single sign-on: the state does not match the browser's; a login started elsewhere, or expired", "idp", p.Name)
		s.fail(w, r, "invalid_state")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	id, err := s.identify(ctx, p, f, code)
	if err != nil {
		s.refuse(w, r, p, err)
		return
	}
	u, err := s.signIn(ctx, p, id)
	if err != nil {
		s.refuse(w, r, p, err)
		return
	}
	token, err := s.auth.StartSession(ctx, u.ID)
	if err != nil {
		s.refuse(w, r, p, err)
		return
	}
	s.log.Info("single sign-on: logged in", "idp", p.Name, "user", u.Username)
	s.auth.SetSessionCookie(w, r, token)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, auth.SafeRedirect(f.Next), http.StatusFound)
}

// identity is who the provider says logged in.
type identity struct {
	Subject string
	Email   string
	Name    string
	Role    auth.Role // "" when the settings give none
}

// refusal is a login refused, with the code the login page explains.
type refusal struct {
	code string
	why  string // for the log
}

func (e *refusal) Error() string { return e.why }

func refuse(code, format string, args ...any) error {
	return &refusal{code, fmt.Sprintf(format, args...)}
}

// identify exchanges the code for tokens and reads who they name.
func (s *Service) identify(ctx context.Context, p *provider, f flow, code string) (identity, error) {
	op, verifier, err := s.discover(ctx, p)
	if err != nil {
		return identity{}, refuse("oauth_error", "%v", err)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.opts.Client)
	tok, err := p.oauth2Config(op, f.Redirect).Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return identity{}, refuse("oauth_error", "exchange the code: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return identity{}, refuse("no_oidc_support", "the token response has no ID token")
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return identity{}, refuse("auth_failed", "verify the ID token: %v", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return identity{}, refuse("auth_failed", "the ID token's nonce is not the one sent")
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return identity{}, refuse("auth_failed", "verify the access token: %v", err)
		}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return identity{}, refuse("auth_failed", "read the ID token's claims: %v", err)
	}
	if p.lacksClaims(claims) && op.UserInfoEndpoint() != "" {
		claims = s.withUserInfo(ctx, p, op, tok, idt.Subject, claims)
	}
	return p.identity(idt.Subject, claims)
}

// lacksClaims reports whether claims lack what the settings look for,
// which providers often send only from their userinfo endpoint.
func (p *provider) lacksClaims(claims map[string]any) bool {
	for _, cp := range []*claimPath{&p.EmailPath, p.GroupsPath, p.RolePath} {
		if cp != nil && cp.find(claims) == nil {
			return true
		}
	}
	return false
}

// withUserInfo adds the userinfo endpoint's claims to the ID token's,
// which win: they are signed. A failure leaves the ID token's alone, and
// what they lack is then refused.
func (s *Service) withUserInfo(ctx context.Context, p *provider, op *oidc.Provider, tok *oauth2.Token, subject string, claims map[string]any) map[string]any {
	ui, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		s.errs.Warn("single sign-on: read the userinfo endpoint", "idp", p.Name, "err", err)
		return claims
	}
	var more map[string]any
	if ui.Subject != subject || ui.Claims(&more) != nil {
		s.errs.Warn("single sign-on: the userinfo endpoint speaks of another subject", "idp", p.Name)
		return claims
	}
	for k, v := range claims {
		more[k] = v
	}
	return more
}

// identity reads who claims name, and checks what the settings require.
func (p *provider) identity(subject string, claims map[string]any) (identity, error) {
	id := identity{Subject: subject}
	email, _ := p.EmailPath.find(claims).(string)
	if id.Email = strings.ToLower(strings.TrimSpace(email)); id.Email == "" {
		return id, refuse("missing_email_scope", "no email at %q in the claims", p.EmailPath)
	}
	// Loupe knows a person by their email, so one the provider has not
	// checked could be anyone's.
	if v, ok := claims["email_verified"].(bool); ok && !v {
		return id, refuse("email_not_verified", "the provider has not verified %s", id.Email)
	}
	if name, ok := claims["name"].(string); ok {
		id.Name = strings.TrimSpace(name)
	}
	if p.GroupsPath != nil {
		groups := stringsOf(p.GroupsPath.find(claims))
		allowed := false
		for _, g := range groups {
			for _, a := range p.AllowedGroups {
				allowed = allowed || g == a
			}
		}
		if !allowed {
			return id, refuse("auth_failed", "%s is in none of the allowed groups (%s at %q: %q)", id.Email,
				strings.Join(p.AllowedGroups, ", "), p.GroupsPath, groups)
		}
	}
	if p.RolePath != nil {
		role, err := p.role(claims)
		if err != nil {
			return id, err
		}
		id.Role = role
	}
	return id, nil
}

// role maps the role claim to a role: through the mapping, or as a
// role's own name; otherwise a viewer, or refused when strict.
func (p *provider) role(claims map[string]any) (auth.Role, error) {
	v, _ := p.RolePath.find(claims).(string)
	v = strings.TrimSpace(v)
	if r, ok := p.RoleMapping[v]; ok && v != "" {
		return r, nil
	}
	if r, err := auth.ParseRole(v); err == nil && v != "" {
		return r, nil
	}
	if p.RoleStrict {
		return "", refuse("auth_failed", "the role %q at %q maps to no role, and ROLE_ATTRIBUTE_STRICT is set", v, p.RolePath)
	}
	return auth.RoleViewer, nil
}

// stringsOf reads a claim that is a string or a list of them.
func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// signIn finds the user the provider vouches for, or creates them.
func (s *Service) signIn(ctx context.Context, p *provider, id identity) (store.User, error) {
	u, err := s.auth.UserByEmail(ctx, id.Email)
	switch {
	case err == nil && u.PasswordHash != "":
		// Phoenix's rule: a user with a password logs in with it, so a
		// provider cannot take over an account it did not make.
		return u, refuse("email_in_use", "%s has a password and logs in with it", id.Email)
	case err == nil:
		if id.Role != "" && p.RoleResync && auth.Role(u.Role) != id.Role {
			if err := s.auth.SetRole(ctx, u.ID, id.Role); err != nil {
				s.log.Warn("single sign-on: give a user the provider's role", "user", u.Username, "role", id.Role, "err", err)
			} else {
				u.Role = string(id.Role)
			}
		}
		return u, nil
	case !errors.Is(err, store.ErrNotFound):
		return u, err
	case !p.AllowSignUp:
		return u, refuse("sign_in_not_allowed", "%s is not a user, and %s does not allow sign-up", id.Email, p.Name)
	}
	role := id.Role
	if role == "" {
		role = auth.RoleViewer
	}
	name := usernameOf(id)
	for attempt := 0; ; attempt++ {
		u, err = s.auth.CreateUser(ctx, auth.NewUser{Username: name, Email: id.Email, Role: role})
		if !errors.Is(err, store.ErrConflict) {
			break
		}
		if !strings.Contains(err.Error(), "username") || attempt == 3 {
			return u, refuse("email_in_use", "create a user for %s: %v", id.Email, err)
		}
		// Another person has the name: Phoenix's suffix.
		n, _ := rand.Int(rand.Reader, big.NewInt(90_000))
		name = fmt.Sprintf("%s-%d", usernameOf(id), 10_000+n.Int64())
	}
	if err != nil {
		return u, err
	}
	s.log.Info("single sign-on: created a user on their first login", "idp", p.Name, "user", u.Username, "role", u.Role)
	return u, nil
}

// maxUsername leaves room for the suffix within the 64 characters a
// username may have.
const maxUsername = 56

// usernameOf is the name a new user gets: the provider's name for them,
// or their email's local part.
func usernameOf(id identity) string {
	name := id.Name
	if name == "" {
		name, _, _ = strings.Cut(id.Email, "@")
	}
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, name)
	for utf8.RuneCountInString(name) > maxUsername {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// refuse sends the browser back to the login page, saying why in words
// it chooses from a code: the details, which could help an attacker, go
// to the log.
func (s *Service) refuse(w http.ResponseWriter, r *http.Request, p *provider, err error) {
	var rf *refusal
	if errors.As(err, &rf) {
		s.log.Warn("single sign-on: login refused", "idp", p.Name, "reason", rf.why)
		s.fail(w, r, rf.code)
		return
	}
	s.errs.Warn("single sign-on: login failed", "idp", p.Name, "err", err)
	if errors.Is(err, store.ErrUnavailable) {
		s.fail(w, r, "unavailable")
		return
	}
	s.fail(w, r, "oauth_error")
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, code string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.opts.LoginPath+"?error="+url.QueryEscape(code), http.StatusFound)
}

// ErrorMessage is what the login page says for a code a failed login
// came back with (Phoenix's codes and words), or "" for an unknown code.
func ErrorMessage(code string) string {
	return errorMessages[code]
}

var errorMessages = map[string]string{
	"unknown_idp":         "Unknown identity provider.",
	"auth_failed":         "Authentication failed. Please contact your administrator.",
	"invalid_state":       "Invalid authentication state. Please try again.",
	"unsafe_return_url":   "Invalid return URL. Please try again.",
	"oauth_error":         "Authentication failed. Please try again.",
	"no_oidc_support":     "Your identity provider does not appear to support OpenID Connect. Please contact your administrator.",
	"missing_email_scope": "Please ensure your identity provider is configured to use the 'email' scope.",
	"email_in_use":        "An account with this email already exists.",
	"sign_in_not_allowed": "Sign in is not allowed. Please contact your administrator.",
	"email_not_verified":  "Your identity provider has not verified your email address.",
	"unavailable":         "Loupe cannot reach its database; try again in a moment.",
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// clip bounds what a request's parameter adds to a log line.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
