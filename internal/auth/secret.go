package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/crypto/bcrypt"
)

// KeyPrefix starts every API key, so that a key found in a log or a
// repository is recognisable, and a bearer token that is not one costs no
// database read.
const KeyPrefix = "lk_"

// tokenBytes is the randomness of every token: 256 bits, beyond guessing.
const tokenBytes = 32

// newToken returns a fresh random token with prefix.
func newToken(prefix string) string {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails (crypto/rand)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// hasher turns tokens into what is stored: HMAC-SHA256 keyed with the
// server's secret. A database copy alone then yields no usable token, and
// a new secret voids every token, as Phoenix's JWTs are. Its HMACs are
// pooled: every authenticated request makes one.
type hasher struct{ pool *sync.Pool }

func newHasher(key string) hasher {
	k := []byte(key)
	return hasher{&sync.Pool{New: func() any { return hmac.New(sha256.New, k) }}}
}

func (h hasher) sum(token string) []byte {
	m := h.pool.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(token))
	out := m.Sum(make([]byte, 0, sha256.Size))
	h.pool.Put(m)
	return out
}

// MinSecretLength is the shortest LOUPE_SECRET (and admin secret), as Phoenix.
const MinSecretLength = 32

// ValidateSecret checks a secret as Phoenix checks PHOENIX_SECRET: at least
// 32 characters, ASCII without whitespace, with a digit and a lower-case
// letter. The error says every rule it breaks.
func ValidateSecret(s string) error {
	if s == "" {
		return errors.New("must be set")
	}
	var broken []string
	if n := len(s); n < MinSecretLength {
		broken = append(broken, fmt.Sprintf("be at least %d characters long (it has %d)", MinSecretLength, n))
	}
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		broken = append(broken, "contain no whitespace")
	}
	if strings.IndexFunc(s, func(r rune) bool { return r > unicode.MaxASCII }) >= 0 {
		broken = append(broken, "contain only ASCII characters")
	}
	if !strings.ContainsAny(s, "0123456789") {
		broken = append(broken, "contain a digit")
	}
	if !strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") {
		broken = append(broken, "contain a lower-case letter")
	}
	if len(broken) == 0 {
		return nil
	}
	return errors.New("must " + joinAnd(broken))
}

func joinAnd(parts []string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// Passwords are hashed with bcrypt (golang.org/x/crypto/bcrypt) at its
// default cost: about 60 ms a hash on one core, and a few KiB of memory,
// where argon2id at OWASP's parameters takes 19 MiB or more for each login
// in flight, which a burst of logins would add to the server's bounded
// memory. bcrypt reads at most 72 bytes, so longer passwords are refused
// rather than silently cut.
const (
	MinPasswordLength = 8
	maxPasswordBytes  = 72
)

// bcryptCost is a variable only for tests, which hash many passwords.
var bcryptCost = bcrypt.DefaultCost

// ValidatePassword checks a password a person chooses.
func ValidatePassword(p string) error {
	switch {
	case len(p) < MinPasswordLength:
		return fmt.Errorf("password must be at least %d characters long", MinPasswordLength)
	case len(p) > maxPasswordBytes:
		return fmt.Errorf("password must be at most %d bytes long", maxPasswordBytes)
	case strings.TrimSpace(p) != p:
		return errors.New("password must not start or end with whitespace")
	}
	return nil
}

func hashPassword(p string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(p), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when a login names no user (or one with
// no password), so that a failed login takes as long whether or not the
// user exists.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("no such user, no such password"), bcryptCost)
	return h
})

// passwordMatches compares in constant time (bcrypt does).
func passwordMatches(hash, password string) bool {
	if hash == "" {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}
