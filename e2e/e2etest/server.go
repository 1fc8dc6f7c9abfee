// Package e2etest runs the real loupe binary for end-to-end tests.
//
// End-to-end tests exercise what a user runs: the binary built from
// ./cmd/loupe, started as a separate process with its own data directory,
// reached over loopback by real clients, and stopped with a signal. This
// package holds the parts every such test needs, so that each test file only
// says what it sends and what it expects:
//
//	func TestMain(m *testing.M) { e2etest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		srv := e2etest.Start(t, e2etest.Build(t))
//		// ... send spans to srv.HTTPURL + "/v1/traces" or to srv.GRPCAddr ...
//		var page struct{ Data []json.RawMessage }
//		srv.GetJSON(t, "/v1/projects/default/spans", &page)
//		srv.Stop(t) // SIGTERM; fails the test unless loupe exits 0
//	}
//
// The server's output (its logs) is captured and written to the test log
// when the test fails, so a failure shows what the server said.
//
// Environment:
//   - LOUPE_E2E_BIN: use this loupe binary instead of building one (for
//     example to test a release build, or to build once for many packages).
//
// The helpers send Unix signals, so the tests that use them run on Unix.
package e2etest

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// readyTimeout bounds start-up: opening SQLite and migrating an empty
	// database takes well under a second, so this only guards against hangs.
	readyTimeout = 30 * time.Second
	// stopTimeout is longer than loupe's default 30s --shutdown-timeout, so
	// that a slow but correct shutdown is not reported as a hang.
	stopTimeout = 45 * time.Second
	// startAttempts covers the small window in which a port picked by
	// freePort is taken by another process before loupe binds it.
	startAttempts = 3
)

var build struct {
	once sync.Once
	dir  string // holds the binary; removed by Main
	bin  string
	err  error
}

// Main runs the package's tests and then removes the binary Build made. Call
// it from TestMain; without it the binary is left in the temporary directory.
func Main(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// Build returns the path of a loupe binary built from this module's
// ./cmd/loupe. The first call in a test binary builds it (a few seconds with a
// warm build cache); later calls, from any test, return the same path. If
// LOUPE_E2E_BIN is set, that binary is used and nothing is built.
func Build(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		if bin := os.Getenv("LOUPE_E2E_BIN"); bin != "" {
			build.bin, build.err = filepath.Abs(bin)
			return
		}
		root, err := moduleRoot()
		if err != nil {
			build.err = err
			return
		}
		// Not t.TempDir: the binary outlives the test that built it.
		if build.dir, err = os.MkdirTemp("", "loupe-e2e-"); err != nil {
			build.err = err
			return
		}
		bin := filepath.Join(build.dir, "loupe")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/loupe")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/loupe in %s: %v\n%s", root, err, out)
			return
		}
		build.bin = bin
	})
	if build.err != nil {
		t.Fatalf("building loupe: %v", build.err)
	}
	return build.bin
}

// moduleRoot is the directory of the main module's go.mod, found the way
// the go command finds it, so tests work from any package directory.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod), nil
}

// Server is a running loupe process started by Start.
type Server struct {
	// HTTPURL is the base URL of the UI, the REST API and OTLP/HTTP, for
	// example "http://127.0.0.1:41234" (no trailing slash), https with
	// Options.TLS.
	HTTPURL string
	// HTTPClient reaches HTTPURL, over TLS with Options.TLS.
	HTTPClient *http.Client
	// GRPCAddr is the OTLP/gRPC host:port.
	GRPCAddr string
	// DataDir holds the database. It is a fresh t.TempDir unless --data-dir
	// was passed to Start; pass it again to restart on the same data.
	DataDir string
	// Cmd is the process. Use Stop or Kill rather than signalling it
	// directly, so the helpers know it has exited.
	Cmd *exec.Cmd
	// Token, when set, is sent as the bearer of GetJSON's and GetText's
	// requests, for a server with authentication on.
	Token string

	out     *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
}

// Start runs `loupe serve` from bin on free loopback ports and returns once
// GET /readyz answers 200. Without a --data-dir in extraArgs it uses a new
// t.TempDir. extraArgs are passed after Start's own flags, so they can
// override --http-addr and --grpc-addr too.
//
// The server gets the test's environment minus every LOUPE_* and PHOENIX_*
// variable, so that its configuration is exactly its flags; use StartEnv to
// test configuration by environment.
//
// When the test ends, a server that is still running is killed, and if the
// test failed, its output is written to the test log.
func Start(t testing.TB, bin string, extraArgs ...string) *Server {
	t.Helper()
	return StartEnv(t, bin, nil, extraArgs...)
}

// StartEnv is Start with extra environment variables ("KEY=value") for the
// server, added after the cleaned test environment.
func StartEnv(t testing.TB, bin string, env []string, extraArgs ...string) *Server {
	t.Helper()
	return StartWith(t, bin, Options{Env: env}, extraArgs...)
}

// Options are the settings of StartWith.
type Options struct {
	// Env holds extra environment variables ("KEY=value") for the server,
	// added after the cleaned test environment.
	Env []string
	// Dir is the server's working directory; the test's when empty.
	Dir string
	// NotReady makes StartWith return once GET /readyz answers at all,
	// for a server meant to start not ready (on a full disk, say).
	NotReady bool
	// TLS is the client side of TLS, for a server started with --tls-cert:
	// HTTPURL is then https and HTTPClient uses it.
	TLS *tls.Config
}

// StartWith is Start with opts.
func StartWith(t testing.TB, bin string, opts Options, extraArgs ...string) *Server {
	t.Helper()
	dataDir, hasDataDir := flagValue(extraArgs, "data-dir")
	if !hasDataDir {
		dataDir = t.TempDir()
	}
	var lastErr error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		s, err := start(t, bin, dataDir, hasDataDir, opts, extraArgs)
		if err == nil {
			return s
		}
		lastErr = err
		if s == nil || !strings.Contains(s.out.String(), "address already in use") {
			break
		}
		t.Logf("e2etest: port taken before loupe bound it (attempt %d of %d), retrying on new ports", attempt, startAttempts)
	}
	t.Fatalf("starting loupe: %v", lastErr)
	return nil
}

// start makes one attempt. On error the returned Server, if any, has exited
// and is returned only for its output, which its cleanup logs if the test
// fails.
func start(t testing.TB, bin, dataDir string, hasDataDir bool, opts Options, extraArgs []string) (*Server, error) {
	httpAddr, grpcAddr, err := freePorts()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--http-addr", httpAddr, "--grpc-addr", grpcAddr}
	if !hasDataDir {
		args = append(args, "--data-dir", dataDir)
	}
	args = append(args, extraArgs...)

	s := &Server{
		HTTPURL:    "http://" + httpAddr,
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
		GRPCAddr:   grpcAddr,
		DataDir:    dataDir,
		out:        &syncBuffer{},
		done:       make(chan struct{}),
	}
	if opts.TLS != nil {
		s.HTTPURL = "https://" + httpAddr
		s.HTTPClient.Transport = &http.Transport{TLSClientConfig: opts.TLS.Clone()}
	}
	s.Cmd = exec.Command(bin, args...)
	s.Cmd.Env = append(cleanEnv(os.Environ()), opts.Env...)
	s.Cmd.Dir = opts.Dir
	s.Cmd.Stdout = s.out
	s.Cmd.Stderr = s.out
	if err := s.Cmd.Start(); err != nil {
		return s, fmt.Errorf("run %s: %w", bin, err)
	}
	go func() {
		s.waitErr = s.Cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		if !s.exited() {
			s.Cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("loupe %s output:\n%s", strings.Join(args, " "), s.out.String())
		}
	})

	if err := s.waitReady(opts.NotReady); err != nil {
		if !s.exited() {
			s.Cmd.Process.Kill()
			<-s.done
		}
		return s, fmt.Errorf("%w (loupe's output is in the log)", err)
	}
	return s, nil
}

// waitReady waits for GET /readyz to answer 200, or anything at all when
// answered is set.
func (s *Server) waitReady(answered bool) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: s.HTTPClient.Transport}
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		select {
		case <-s.done:
			return fmt.Errorf("loupe exited before it was ready: %v", s.waitErr)
		case <-tick.C:
		}
		resp, err := client.Get(s.HTTPURL + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || answered {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, body)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET /readyz not 200 after %v (last: %s)", readyTimeout, last)
		}
	}
}

func (s *Server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM, waits for the process to exit, and fails the test
// unless it exited with status 0: a clean shutdown that drains the ingest
// queue and closes the database is part of what is being tested.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.exited() {
		t.Fatalf("loupe had already exited before Stop: %v", s.waitErr)
	}
	if err := s.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to loupe: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		s.Cmd.Process.Kill()
		<-s.done
		t.Fatalf("loupe did not exit within %v of SIGTERM; killed it", stopTimeout)
	}
	if code := s.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("loupe exited with status %d after SIGTERM, want 0 (%v)", code, s.waitErr)
	}
}

// Kill sends SIGKILL and waits for the process to go, as a crash or an
// out-of-memory kill would. Start again with "--data-dir", s.DataDir to test
// what survives.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if s.exited() {
		return
	}
	if err := s.Cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL to loupe: %v", err)
	}
	<-s.done
}

// Output returns what the server has written to stdout and stderr so far.
func (s *Server) Output() string { return s.out.String() }

// GetJSON sends GET s.HTTPURL+path and decodes the JSON body into v, failing
// the test on a transport error, a status other than 200, or a body that
// does not decode.
func (s *Server) GetJSON(t testing.TB, path string, v any) {
	t.Helper()
	body := s.GetText(t, path)
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: decoding into %T: %v; body: %s", path, v, err, body)
	}
}

// GetText sends GET s.HTTPURL+path and returns the body, failing the test
// on a transport error or a status other than 200.
func (s *Server) GetText(t testing.TB, path string) string {
	t.Helper()
	req, err := http.NewRequest("GET", s.HTTPURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	resp, err := s.HTTPClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, want 200 OK; body: %s", path, resp.Status, body)
	}
	return string(body)
}

// freePorts picks two distinct free loopback ports. Both listeners are held
// open until both are chosen, so the two cannot be the same.
func freePorts() (httpAddr, grpcAddr string, err error) {
	var addrs [2]string
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", fmt.Errorf("finding a free port: %w", err)
		}
		defer ln.Close()
		addrs[i] = ln.Addr().String()
	}
	return addrs[0], addrs[1], nil
}

// flagValue finds --name or -name among args, as "--name value" or
// "--name=value".
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		for _, p := range []string{"--" + name, "-" + name} {
			if a == p && i+1 < len(args) {
				return args[i+1], true
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v, true
			}
		}
	}
	return "", false
}

func cleanEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if strings.HasPrefix(kv, "LOUPE_") || strings.HasPrefix(kv, "PHOENIX_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for the process's writes racing the
// test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
