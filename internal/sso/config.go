package sso

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/loupe-dev/loupe/internal/auth"
)

// Config is one identity provider, as Phoenix's PHOENIX_OAUTH2_<IDP>_*
// variables describe it.
type Config struct {
	// Name is the provider's name in the routes, /oauth2/<name>/login: the
	// <IDP> of its variables, in lower case.
	Name        string
	DisplayName string // "Sign in with <DisplayName>"
	ClientID    string
	// ClientSecret is empty for a public client (AuthMethod "none").
	ClientSecret string
	// ConfigURL is the provider's discovery document,
	// .../.well-known/openid-configuration.
	ConfigURL string
	// AllowSignUp creates a user on their first login; without it only
	// users an admin created may sign in.
	AllowSignUp bool
	// AutoLogin sends the login page straight to this provider.
	AutoLogin bool
	// AuthMethod is how the client proves itself at the token endpoint:
	// client_secret_basic (the default), client_secret_post or none.
	AuthMethod string
	// Scopes are asked for: openid, email and profile, and those added.
	Scopes []string
	// EmailPath finds the email in the claims; "email" by default.
	EmailPath claimPath
	// GroupsPath finds the groups a person is in, of which AllowedGroups
	// lists those that may sign in; none checked when nil.
	GroupsPath    *claimPath
	AllowedGroups []string
	// RolePath finds the role to give a person (through RoleMapping, or
	// as a role's own name); when nil, new users are viewers and existing
	// ones keep their role. RoleStrict refuses a person whose role cannot
	// be found or mapped, who otherwise is a viewer; RoleResync gives
	// existing users the role found at each login.
	RolePath    *claimPath
	RoleMapping map[string]auth.Role
	RoleStrict  bool
	RoleResync  bool
}

// String and LogValue name the provider, and keep its client secret out
// of anything printed or logged.
func (c Config) String() string { return c.Name + " (" + c.DisplayName + ")" }

func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// varPrefix starts the variables of every provider, as Phoenix's.
const varPrefix = "PHOENIX_OAUTH2_"

// suffixes are the settings of a provider, as Phoenix names them; the
// longest first, so that a provider named FOO_CLIENT is not read as FOO
// with a setting CLIENT_ID.
var suffixes = func() []string {
	s := []string{"DISPLAY_NAME", "CLIENT_ID", "CLIENT_SECRET", "OIDC_CONFIG_URL", "ALLOW_SIGN_UP", "AUTO_LOGIN",
		"USE_PKCE", "TOKEN_ENDPOINT_AUTH_METHOD", "CLIENT_ASSERTION_FILE", "CLIENT_ASSERTION_FILE_ENV_VAR", "SCOPES",
		"EMAIL_ATTRIBUTE_PATH", "GROUPS_ATTRIBUTE_PATH", "ALLOWED_GROUPS", "ROLE_ATTRIBUTE_PATH", "ROLE_MAPPING",
		"ROLE_ATTRIBUTE_STRICT", "ROLE_RESYNC"}
	sort.Slice(s, func(i, j int) bool { return len(s[i]) > len(s[j]) })
	return s
}()

// namePattern is what Phoenix's routes take as a provider's name.
var namePattern = regexp.MustCompile(`^[a-z0-9_]+$`)

// FromEnv reads every provider that environ (os.Environ's form) configures,
// sorted by name. The error names each variable that is missing or wrong.
func FromEnv(environ []string) ([]Config, error) {
	vars := map[string]map[string]string{} // provider → setting → value
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(k, varPrefix)
		if !ok {
			continue
		}
		for _, s := range suffixes {
			if name, ok := strings.CutSuffix(rest, "_"+s); ok && name != "" {
				if vars[name] == nil {
					vars[name] = map[string]string{}
				}
				vars[name][s] = v
				break
			}
		}
	}
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Config
	var errs []error
	for _, n := range names {
		c, err := parseProvider(n, vars[n])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

func parseProvider(upper string, v map[string]string) (Config, error) {
	prefix := varPrefix + upper + "_"
	c := Config{Name: strings.ToLower(upper), ClientID: v["CLIENT_ID"], ClientSecret: v["CLIENT_SECRET"],
		ConfigURL: v["OIDC_CONFIG_URL"], DisplayName: strings.TrimSpace(v["DISPLAY_NAME"])}
	var errs []error
	bad := func(suffix, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s%s %s", prefix, suffix, fmt.Sprintf(format, args...)))
	}
	if !namePattern.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("%s*: the provider's name %q may hold only letters, digits and underscores", varPrefix+upper, upper))
	}
	if c.DisplayName == "" {
		c.DisplayName = defaultDisplayName(c.Name)
	}
	if c.ClientID == "" {
		bad("CLIENT_ID", "must be set: the client ID the identity provider issued")
	}
	switch u, err := url.Parse(c.ConfigURL); {
	case c.ConfigURL == "":
		bad("OIDC_CONFIG_URL", "must be set: the provider's discovery URL, ending in /.well-known/openid-configuration")
	case err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http":
		bad("OIDC_CONFIG_URL", "is not a URL: %q", c.ConfigURL)
	case u.Scheme != "https" && !isLoopback(u.Hostname()):
		bad("OIDC_CONFIG_URL", "must use https (plain http only for localhost): %q", c.ConfigURL)
	}
	boolean := func(suffix string, def bool) bool {
		s, ok := v[suffix]
		if !ok {
			return def
		}
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true
		case "false":
			return false
		}
		bad(suffix, "must be true or false, not %q", s)
		return def
	}
	c.AllowSignUp = boolean("ALLOW_SIGN_UP", true)
	c.AutoLogin = boolean("AUTO_LOGIN", false)
	boolean("USE_PKCE", false) // checked, but PKCE is always used
	c.RoleStrict = boolean("ROLE_ATTRIBUTE_STRICT", false)
	c.RoleResync = boolean("ROLE_RESYNC", true)

	c.AuthMethod = strings.ToLower(strings.TrimSpace(v["TOKEN_ENDPOINT_AUTH_METHOD"]))
	switch c.AuthMethod {
	case "", "client_secret_basic", "client_secret_post":
		if c.AuthMethod == "" {
			c.AuthMethod = "client_secret_basic"
		}
		if c.ClientSecret == "" {
			bad("CLIENT_SECRET", "must be set (or TOKEN_ENDPOINT_AUTH_METHOD=none for a public client)")
		}
	case "none":
	case "client_assertion_jwt":
		bad("TOKEN_ENDPOINT_AUTH_METHOD", "client_assertion_jwt is not supported by Loupe: use client_secret_basic, client_secret_post or none")
	default:
		bad("TOKEN_ENDPOINT_AUTH_METHOD", "must be client_secret_basic, client_secret_post or none, not %q", v["TOKEN_ENDPOINT_AUTH_METHOD"])
	}
	for _, s := range []string{"CLIENT_ASSERTION_FILE", "CLIENT_ASSERTION_FILE_ENV_VAR"} {
		if v[s] != "" {
			bad(s, "is not supported by Loupe (client assertions are not)")
		}
	}

	c.Scopes = []string{"openid", "email", "profile"}
	for _, s := range strings.Fields(v["SCOPES"]) {
		if !slices.Contains(c.Scopes, s) {
			c.Scopes = append(c.Scopes, s)
		}
	}

	path := func(suffix string) *claimPath {
		s := strings.TrimSpace(v[suffix])
		if s == "" {
			return nil
		}
		p, err := parseClaimPath(s)
		if err != nil {
			bad(suffix, "%v", err)
			return nil
		}
		return &p
	}
	c.EmailPath = claimPath{keys: []string{"email"}, expr: "email"}
	if p := path("EMAIL_ATTRIBUTE_PATH"); p != nil {
		c.EmailPath = *p
	}
	c.GroupsPath = path("GROUPS_ATTRIBUTE_PATH")
	for _, g := range strings.Split(v["ALLOWED_GROUPS"], ",") {
		if g = strings.TrimSpace(g); g != "" && !slices.Contains(c.AllowedGroups, g) {
			c.AllowedGroups = append(c.AllowedGroups, g)
		}
	}
	switch {
	case len(c.AllowedGroups) > 0 && v["GROUPS_ATTRIBUTE_PATH"] == "":
		bad("ALLOWED_GROUPS", "needs GROUPS_ATTRIBUTE_PATH, which says where the groups are")
	case len(c.AllowedGroups) == 0 && v["GROUPS_ATTRIBUTE_PATH"] != "":
		bad("GROUPS_ATTRIBUTE_PATH", "needs ALLOWED_GROUPS, the groups that may sign in")
	}

	c.RolePath = path("ROLE_ATTRIBUTE_PATH")
	if m := strings.TrimSpace(v["ROLE_MAPPING"]); m != "" {
		c.RoleMapping = map[string]auth.Role{}
		for _, pair := range strings.Split(m, ",") {
			if pair = strings.TrimSpace(pair); pair == "" {
				continue
			}
			from, to, ok := strings.Cut(pair, ":")
			from = strings.TrimSpace(from)
			role, err := auth.ParseRole(to)
			switch {
			case !ok || from == "":
				bad("ROLE_MAPPING", "takes pairs such as Owner:ADMIN,Developer:MEMBER, not %q", pair)
			case err != nil:
				bad("ROLE_MAPPING", "maps %q to %v", from, err)
			default:
				c.RoleMapping[from] = role
			}
		}
	}
	if v["ROLE_ATTRIBUTE_PATH"] == "" {
		for suffix, set := range map[string]bool{"ROLE_MAPPING": c.RoleMapping != nil, "ROLE_ATTRIBUTE_STRICT": c.RoleStrict, "ROLE_RESYNC": !c.RoleResync} {
			if set {
				bad(suffix, "needs ROLE_ATTRIBUTE_PATH, which says where the role is")
			}
		}
	}
	return c, errors.Join(errs...)
}

// defaultDisplayName is Phoenix's: the name in title case, with spaces.
func defaultDisplayName(name string) string {
	switch name {
	case "aws_cognito":
		return "AWS Cognito"
	case "microsoft_entra_id":
		return "Microsoft Entra ID"
	}
	words := strings.Fields(strings.ReplaceAll(name, "_", " "))
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// claimPath finds a value in an ID token's claims. Phoenix takes JMESPath
// expressions; Loupe takes the part of JMESPath these settings are
// written in: keys joined by dots, a key in double quotes when it holds
// other characters ("cognito:groups", resource_access."my-app".roles),
// and a constant in single quotes ('MEMBER'), which gives every person
// the same value.
type claimPath struct {
	expr     string
	keys     []string
	constant *string
}

var bareKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)

func parseClaimPath(s string) (claimPath, error) {
	p := claimPath{expr: s}
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' && !strings.Contains(s[1:len(s)-1], "'") {
		c := s[1 : len(s)-1]
		p.constant = &c
		return p, nil
	}
	unsupported := fmt.Errorf("%q: Loupe reads keys joined by dots (a key with other characters in double quotes) or a constant in single quotes, not other JMESPath expressions", s)
	rest := s
	for {
		var key string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 1 {
				return p, unsupported
			}
			key, rest = rest[1:1+end], rest[2+end:]
		} else if key = bareKey.FindString(rest); key == "" {
			return p, unsupported
		} else {
			rest = rest[len(key):]
		}
		p.keys = append(p.keys, key)
		if rest == "" {
			return p, nil
		}
		var dot bool
		if rest, dot = strings.CutPrefix(rest, "."); !dot || rest == "" {
			return p, unsupported
		}
	}
}

// find returns the value at p in claims, or nil.
func (p claimPath) find(claims map[string]any) any {
	if p.constant != nil {
		return *p.constant
	}
	var v any = claims
	for _, k := range p.keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func (p claimPath) String() string { return p.expr }
