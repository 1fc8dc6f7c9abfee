package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// TLSConfig is how the listeners use TLS. A certificate turns it on for
// both unless Phoenix's PHOENIX_TLS_ENABLED_FOR_* variables chose one.
type TLSConfig struct {
	CertFile     string
	KeyFile      string
	ClientCAFile string
	VerifyClient bool
	// PlainHTTP and PlainGRPC keep a listener without TLS.
	PlainHTTP, PlainGRPC bool
}

// ForHTTP and ForGRPC tell whether a listener uses TLS.
func (t TLSConfig) ForHTTP() bool { return t.CertFile != "" && !t.PlainHTTP }
func (t TLSConfig) ForGRPC() bool { return t.CertFile != "" && !t.PlainGRPC }

func (t *TLSConfig) registerFlags(fs *flag.FlagSet) {
	fs.StringVar(&t.CertFile, "tls-cert", t.CertFile, "PEM `file` of the TLS certificate (with its chain) for HTTPS and OTLP/gRPC over TLS; "+
		"reloaded when it changes or on SIGHUP; needs --tls-key (env LOUPE_TLS_CERT_FILE; PHOENIX_TLS_CERT_FILE with PHOENIX_TLS_ENABLED)")
	fs.StringVar(&t.KeyFile, "tls-key", t.KeyFile, "PEM `file` of the certificate's private key, unencrypted (env LOUPE_TLS_KEY_FILE; PHOENIX_TLS_KEY_FILE with PHOENIX_TLS_ENABLED)")
	fs.StringVar(&t.ClientCAFile, "tls-client-ca", t.ClientCAFile, "PEM `file` of the CA certificates that sign client certificates, with --tls-verify-client (env LOUPE_TLS_CLIENT_CA_FILE; PHOENIX_TLS_CA_FILE)")
	fs.BoolVar(&t.VerifyClient, "tls-verify-client", t.VerifyClient, "require a client certificate signed by --tls-client-ca on the listeners that use TLS (mutual TLS) (env LOUPE_TLS_VERIFY_CLIENT; PHOENIX_TLS_VERIFY_CLIENT)")
}

// applyPhoenixEnv reads Phoenix's TLS variables as Phoenix does: they mean
// nothing until PHOENIX_TLS_ENABLED, or PHOENIX_TLS_ENABLED_FOR_HTTP or
// _FOR_GRPC which override it per listener, turns TLS on. When set, these
// choose the listeners, whichever way the certificate was given; Loupe's
// own settings, by flag or LOUPE_*, win over the other PHOENIX_TLS_*.
func (t *TLSConfig) applyPhoenixEnv(set map[string]bool, getenv func(string) string) error {
	both, err := phoenixBool(getenv, "PHOENIX_TLS_ENABLED", false)
	if err != nil {
		return err
	}
	forHTTP, err := phoenixBool(getenv, "PHOENIX_TLS_ENABLED_FOR_HTTP", both)
	if err != nil {
		return err
	}
	forGRPC, err := phoenixBool(getenv, "PHOENIX_TLS_ENABLED_FOR_GRPC", both)
	if err != nil {
		return err
	}
	if getenv("PHOENIX_TLS_ENABLED")+getenv("PHOENIX_TLS_ENABLED_FOR_HTTP")+getenv("PHOENIX_TLS_ENABLED_FOR_GRPC") == "" {
		return nil
	}
	if !forHTTP && !forGRPC {
		if t.CertFile != "" || t.KeyFile != "" {
			return errors.New("--tls-cert and --tls-key are given, but PHOENIX_TLS_ENABLED (or _FOR_HTTP and _FOR_GRPC) turn TLS off on both listeners: unset them")
		}
		return nil
	}
	if getenv("PHOENIX_TLS_KEY_FILE_PASSWORD") != "" {
		return errors.New("PHOENIX_TLS_KEY_FILE_PASSWORD is set, but Loupe reads only unencrypted private keys: " +
			"decrypt the key (openssl pkey -in encrypted.pem -out key.pem), keep it readable by Loupe alone, and unset the password")
	}
	if t.CertFile == "" && t.KeyFile == "" {
		t.CertFile, t.KeyFile = getenv("PHOENIX_TLS_CERT_FILE"), getenv("PHOENIX_TLS_KEY_FILE")
		for _, v := range []struct{ name, val string }{{"PHOENIX_TLS_CERT_FILE", t.CertFile}, {"PHOENIX_TLS_KEY_FILE", t.KeyFile}} {
			if v.val == "" {
				return fmt.Errorf("%s must be set when PHOENIX_TLS_ENABLED (or _FOR_HTTP, _FOR_GRPC) is true", v.name)
			}
		}
	}
	t.PlainHTTP, t.PlainGRPC = !forHTTP, !forGRPC
	if !set["tls-verify-client"] && getenv("LOUPE_TLS_VERIFY_CLIENT") == "" {
		if t.VerifyClient, err = phoenixBool(getenv, "PHOENIX_TLS_VERIFY_CLIENT", false); err != nil {
			return err
		}
	}
	if t.VerifyClient && t.ClientCAFile == "" {
		if t.ClientCAFile = getenv("PHOENIX_TLS_CA_FILE"); t.ClientCAFile == "" {
			return errors.New("PHOENIX_TLS_CA_FILE must be set when PHOENIX_TLS_VERIFY_CLIENT is true")
		}
	}
	return nil
}

// phoenixBool reads a boolean variable as Phoenix does: true or false in
// any case, def when unset.
func phoenixBool(getenv func(string) string, name string, def bool) (bool, error) {
	switch v := getenv(name); strings.ToLower(v) {
	case "":
		return def, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	default:
		return false, fmt.Errorf("environment %s=%q: use true or false", name, v)
	}
}

func (t TLSConfig) validate() []error {
	var errs []error
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		errs = append(errs, errors.New("--tls-cert is given without --tls-key: TLS needs the certificate's private key too"))
	case t.CertFile == "" && t.KeyFile != "":
		errs = append(errs, errors.New("--tls-key is given without --tls-cert: TLS needs the certificate too"))
	case t.CertFile == "" && (t.VerifyClient || t.ClientCAFile != ""):
		errs = append(errs, errors.New("client certificates are verified only over TLS: give --tls-cert and --tls-key too"))
	}
	if t.VerifyClient && t.ClientCAFile == "" {
		errs = append(errs, errors.New("--tls-verify-client needs --tls-client-ca, the CA certificates that sign client certificates"))
	}
	if !t.VerifyClient && t.ClientCAFile != "" {
		errs = append(errs, errors.New("--tls-client-ca is given without --tls-verify-client: add it to require client certificates signed by that CA"))
	}
	return errs
}

// newTLS reads the certificate, its key and the client CA, so that a
// missing file or a key that does not match stops the server before it
// serves, and returns the servers' TLS configuration with the certificate
// that serves it. Both are nil without TLS.
func newTLS(cfg TLSConfig, log *slog.Logger) (*tls.Config, *certificate, error) {
	if cfg.CertFile == "" {
		return nil, nil, nil
	}
	cert := &certificate{certFile: cfg.CertFile, keyFile: cfg.KeyFile, log: log}
	if err := cert.load(); err != nil {
		return nil, nil, err
	}
	if leaf := cert.current.Load().Leaf; time.Now().After(leaf.NotAfter) {
		log.Warn("the TLS certificate has expired: clients will refuse it", "file", cfg.CertFile, "not_after", leaf.NotAfter)
	}
	tc := &tls.Config{GetCertificate: cert.get}
	if cfg.VerifyClient {
		pemCAs, err := os.ReadFile(cfg.ClientCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--tls-client-ca: %w", err)
		}
		tc.ClientCAs = x509.NewCertPool()
		if !tc.ClientCAs.AppendCertsFromPEM(pemCAs) {
			return nil, nil, fmt.Errorf("--tls-client-ca %s holds no PEM certificate", cfg.ClientCAFile)
		}
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, cert, nil
}

// certificate is the certificate the listeners serve, read again from its
// files when they change so that a renewed certificate needs no restart.
type certificate struct {
	certFile, keyFile string
	log               *slog.Logger
	current           atomic.Pointer[tls.Certificate]
	// loaded and lastErr belong to whoever loads: New, then watch.
	loaded  [2]fileStamp
	lastErr string // the last failure logged, not to log it on every check
}

// fileStamp tells whether a file has changed.
type fileStamp struct {
	mod  time.Time
	size int64
}

func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.current.Load(), nil
}

// certCheckInterval is how often the files are checked for a change: a
// renewal is seen within seconds, for the cost of two stat calls.
const certCheckInterval = 5 * time.Second

// watch reloads the certificate when its files change, which it checks
// every interval, or at once on SIGHUP, until ctx is done. A certificate that does not load (a renewal
// half written) leaves the previous one in service.
func (c *certificate) watch(ctx context.Context, every time.Duration) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		var why string
		select {
		case <-ctx.Done():
			return
		case <-hup:
			why = "SIGHUP"
		case <-tick.C:
			if c.stamps() == c.loaded {
				continue
			}
			why = "files changed"
		}
		if err := c.load(); err != nil {
			if err.Error() != c.lastErr {
				c.log.Error("the TLS certificate was not reloaded: serving the previous one", "reason", why, "err", err)
				c.lastErr = err.Error()
			}
			continue
		}
		c.lastErr = ""
		leaf := c.current.Load().Leaf
		c.log.Info("reloaded the TLS certificate", "reason", why, "subject", leaf.Subject.String(), "not_after", leaf.NotAfter)
	}
}

func (c *certificate) stamps() [2]fileStamp {
	var out [2]fileStamp
	for i, f := range []string{c.certFile, c.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			out[i] = fileStamp{fi.ModTime(), fi.Size()}
		}
	}
	return out
}

// load reads the certificate and its key and serves them.
func (c *certificate) load() error {
	stamps := c.stamps()
	certPEM, err := os.ReadFile(c.certFile)
	if err != nil {
		return fmt.Errorf("TLS certificate (--tls-cert): %w", err)
	}
	keyPEM, err := os.ReadFile(c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS private key (--tls-key): %w", err)
	}
	if encrypted(keyPEM) {
		return fmt.Errorf("TLS private key %s is encrypted, and Loupe reads only unencrypted keys: decrypt it (openssl pkey -in %[1]s -out key.pem) and keep it readable by Loupe alone", c.keyFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return fmt.Errorf("TLS private key %s does not match the certificate %s: give the key the certificate was made for", c.keyFile, c.certFile)
		}
		return fmt.Errorf("TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.current.Store(&cert)
	c.loaded = stamps
	return nil
}

// encrypted tells whether a PEM private key is encrypted, either way
// OpenSSL writes one.
func encrypted(keyPEM []byte) bool {
	for {
		var b *pem.Block
		if b, keyPEM = pem.Decode(keyPEM); b == nil {
			return false
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
			return true
		}
	}
}
